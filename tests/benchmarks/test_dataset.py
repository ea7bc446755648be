"""The benchmarks' data set and baselines, at the smallest size (1k rows, a few seconds).

The data set must leave the history that real saves leave (one row per change, the last one
holding the current values), and the hand-written SQL the scale and report benchmarks compare
the portal with must compute the portal's own figures: otherwise their ratios mean nothing.
"""

import os

import pytest
from django.db import connection

from benchmarks.baselines import MINISTRY_SQL, PROGRAMME_SQL, params
from participants.models import Attendance, Enrollment, Official
from participants.reports import figures as fig

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(postgres, monkeypatch):
    # benchmarks.django_setup forces a throw-away SECRET_KEY and API rate into os.environ when it is
    # first imported; setting them here first makes monkeypatch restore them after the test.
    for name in ("SECRET_KEY", "API_THROTTLE_RATE", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, "unset-by-the-test"))
    # Imported here, under the patched environment (a module is imported once: only the first
    # test pays for it, the others find it imported).
    from benchmarks import dataset

    counts = dataset.build(**dataset.SIZES["1k"], verbose=False)
    return dataset, counts


def _scalar(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_the_data_set_has_the_size_it_names(dataset):
    _module, counts = dataset
    assert counts == {"officials": 200, "courses": 1, "sessions": 10, "enrollments": 100, "attendance": 1000}
    assert Attendance.objects.count() == 1000


def test_every_attendance_change_has_its_history_row_and_the_last_one_is_current(dataset):
    module, _counts = dataset
    changed = Attendance.objects.filter(version=2).count()
    assert changed == 1000 // module.CHANGED_EVERY
    history = Attendance.history.model.objects
    assert history.filter(history_type="+").count() == 1000
    assert history.filter(history_type="~").count() == changed
    # One history row per version, and the latest one holds the row's current status and version.
    assert not _scalar(
        """SELECT count(*) FROM participants_attendance a
           WHERE a.version <> (SELECT count(*) FROM participants_historicalattendance h WHERE h.id = a.id)
              OR (a.status, a.version) <> (
                  SELECT h.status, h.version FROM participants_historicalattendance h WHERE h.id = a.id
                  ORDER BY h.history_date DESC, h.history_id DESC LIMIT 1)"""
    )
    # A changed row's first status differs from its current one, as a change would leave it.
    assert not _scalar(
        """SELECT count(*) FROM participants_attendance a JOIN participants_historicalattendance h
           ON h.id = a.id AND h.history_type = '+' WHERE a.version = 2 AND h.status = a.status"""
    )


def test_created_officials_and_enrolments_have_their_creation_history(dataset):
    for model in (Official, Enrollment):
        created = model.history.model.objects.filter(history_type="+").values_list("id", flat=True)
        assert set(created) >= set(model.objects.values_list("id", flat=True))


def test_the_baseline_sql_computes_the_portals_figures(dataset):
    report = fig.report_figures(fig.ReportFilters(), ("programme", "ministry"), reach=True)
    with connection.cursor() as cursor:
        cursor.execute(PROGRAMME_SQL, params())
        programme = cursor.fetchall()
        cursor.execute(MINISTRY_SQL, params())
        ministry = cursor.fetchall()
    total = report.groups["programme"][()]
    by_sex = [row for row in programme if row[0] is None and row[1] != "reach"]
    assert sum(row[3] for row in by_sex) == total.enrolments.total == 100
    assert sum(row[2] for row in by_sex) == total.officials.total
    assert sum(row[4] for row in by_sex) == total.trained.total
    assert sum(row[5] for row in by_sex) == total.completed.total
    assert [sum(row[i] for row in by_sex) for i in (6, 7, 8, 9)] == [
        total.attended,
        total.expected,
        total.excused,
        total.absent,
    ]
    [reach] = [row for row in programme if row[1] == "reach"]
    assert reach[2:5] == (report.reach.courses, report.reach.sessions_held, report.reach.ministries_reached)
    per_ministry: dict[int, int] = {}
    for row in ministry:
        if row[1] is None:  # the (ministry, sex) grouping set
            per_ministry[row[0]] = per_ministry.get(row[0], 0) + row[8]
    assert per_ministry == {key[0]: figures.attended for key, figures in report.groups["ministry"].items()}
