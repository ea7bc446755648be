"""series_status and series_figures against the statuses worked out by hand in conftest.EXPECTED."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from courses.models import SeriesCompletionRule
from courses.services import series_rule_set
from participants.reports import figures as fig
from participants.series import series_figures, series_status
from tests.factories import EnrollmentFactory
from tests.series.conftest import EXPECTED

pytestmark = pytest.mark.django_db


def _split(split):
    return (split.women, split.men, split.other)


def test_each_officials_status_matches_the_hand_count(series):
    statuses = series_status(series["project"])
    courses = {course.number: course.pk for course in series["courses"]}
    assert set(statuses) == {official.pk for official in series["officials"].values()}
    for who, official in series["officials"].items():
        status, expected = statuses[official.pk], EXPECTED[who]
        cells = {number: status.cells[pk] for number, pk in courses.items() if pk in status.cells}
        assert set(cells) == {key for key in expected if isinstance(key, int)}, who
        for number, cell in cells.items():
            assert (cell.enrolled, cell.withdrawn, cell.attended, cell.held, cell.completed) == expected[
                number
            ], (
                who,
                number,
            )
        assert status.courses_completed == expected["done"], who
        assert status.completed is expected["series"], who
        assert status.courses_required == 2  # C1 and C2 are held, C3 is not


def test_per_course_completion_is_the_reports_own(series):
    """The series sums the reports' per-enrolment completion: the two can never disagree."""
    per_enrolment = fig.grouped_figures(fig.ReportFilters(), "enrolment")
    statuses = series_status(series["project"])
    for (who, number), enrolment in series["enrolments"].items():
        cell = statuses[enrolment.official_id].cells[enrolment.course_id]
        figures = per_enrolment.get((enrolment.pk,))
        assert cell.completed == bool(figures and figures.completed.total), (who, number)


def test_a_course_not_yet_held_counts_against_nobody(series):
    statuses = series_status(series["project"])
    a = statuses[series["officials"]["a"].pk]
    assert a.completed and series["courses"][2].pk not in a.cells  # not enrolled in C3, still done


def test_only_the_officials_asked_for(series, django_assert_max_num_queries):
    a, e = series["officials"]["a"], series["officials"]["e"]
    with django_assert_max_num_queries(3):
        statuses = series_status(series["project"], official_ids=[a.pk, e.pk])
    assert set(statuses) == {a.pk, e.pk}
    assert statuses[a.pk].completed and not statuses[e.pk].completed
    assert series_status(series["project"], official_ids=[]) == {}


def test_series_figures_by_sex_and_by_ministry_named_at_enrolment(series):
    figures = series_figures(series["project"])
    assert _split(figures.total.officials) == EXPECTED["officials"]
    assert _split(figures.total.completed) == EXPECTED["completed"]
    by_name = {key[1:]: (_split(g.officials), _split(g.completed)) for key, g in figures.by_ministry.items()}
    assert by_name == EXPECTED["ministries"]


def test_a_rule_of_one_course_of_three(series):
    series_rule_set(project=series["project"], min_courses=1)
    figures = series_figures(series["project"])
    assert _split(figures.total.completed) == EXPECTED["one_of_three"]
    assert figures.rule.required == 1


def test_a_rule_above_the_courses_held_asks_only_for_those_held(series):
    series_rule_set(project=series["project"], min_courses=3)
    figures = series_figures(series["project"])
    assert figures.rule.required == 2  # C3 is not held: it counts against nobody
    assert _split(figures.total.completed) == EXPECTED["completed"]


@pytest.mark.parametrize("bad", [4, 40, 0, -1])
def test_the_rule_refuses_more_courses_than_the_series_has(series, bad):
    with pytest.raises(ValidationError) as refused:
        series_rule_set(project=series["project"], min_courses=bad)
    assert "min_courses" in refused.value.message_dict
    assert not SeriesCompletionRule.objects.exists()


def test_the_rule_keeps_its_history_and_a_repeat_writes_nothing(series, staff):
    project = series["project"]
    series_rule_set(project=project, min_courses=2, changed_by=staff)
    series_rule_set(project=project, min_courses=2, changed_by=staff)
    series_rule_set(project=project, min_courses=None, changed_by=staff)
    rule = SeriesCompletionRule.objects.get(project=project)
    history = list(rule.history.order_by("history_date", "history_id"))
    assert [(h.history_type, h.min_courses) for h in history] == [("+", 2), ("~", None)]
    assert {h.history_user for h in history} == {staff}


def test_nobody_completes_a_series_with_no_course_held(db):
    enrolment = EnrollmentFactory()
    status = series_status(enrolment.course.project)[enrolment.official_id]
    assert status.courses_required == 0 and not status.completed
