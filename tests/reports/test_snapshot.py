"""The whole-programme snapshot: the figures it stores are the live figures after any sequence of
changes; a burst of saves queues one refresh, a change committed during a refresh queues another;
the pages read it (saying "as of") while it is valid and compute live once it is stale or expired."""

from __future__ import annotations

import contextlib
import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from participants import series
from participants.models import Enrollment, FiguresSnapshot
from participants.reports import figures as fig
from participants.reports import snapshot
from participants.services import attendance_record
from pcp_portal.models import OutboxEvent
from tests.reports.test_rollups import CHANGES, Rollback, programme  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _refresh_on_change(settings):
    settings.PCP_FIGURES_SNAPSHOT_ON_CHANGE = True


def _live() -> fig.Report:
    return fig.report_figures(fig.ReportFilters(), snapshot.GROUPS, reach=True, live=True)


def _stored() -> fig.Report | None:
    return snapshot.stored_report(fig.ReportFilters(), snapshot.GROUPS, reach=True)


def _requests() -> int:
    return OutboxEvent.objects.filter(topic=OutboxEvent.Topic.TASK, name=snapshot.TASK).count()


@pytest.fixture
def no_broker():
    """The outbox rows are what is asserted; nothing is handed to a broker."""
    with mock.patch("pcp_portal.outbox._relay_now"):
        yield


@given(changes=st.lists(CHANGES, min_size=1, max_size=10))
def test_the_refreshed_snapshot_is_the_live_figures_after_any_changes(programme, changes):  # noqa: F811
    try:
        with transaction.atomic():
            snapshot.refresh()
            for change, *arguments in changes:
                with contextlib.suppress(ValidationError):
                    change(*arguments)
            assert snapshot.refresh()
            stored, live = _stored(), _live()
            assert stored is not None and stored.as_of is not None
            assert (stored.groups, stored.reach) == (live.groups, live.reach)
            # The series figures of the same pages, from the stored counts and counted live.
            assert snapshot.stored_series_counts() is not None
            assert series.all_series_figures() == series.all_series_figures(now=timezone.now())
            raise Rollback
    except Rollback:
        pass


def _save(enrolment, session, status, capture) -> None:
    with capture(execute=True):
        attendance_record(enrollment=enrolment, session=session, status=status)


def test_a_burst_of_saves_queues_one_refresh_and_a_refresh_reopens_the_queue(
    programme,  # noqa: F811
    no_broker,
    django_capture_on_commit_callbacks,
):
    enrolment = Enrollment.objects.order_by("pk").first()
    session = enrolment.course.sessions.order_by("pk").first()
    for n in range(50):
        _save(enrolment, session, ("present", "absent")[n % 2], django_capture_on_commit_callbacks)
    assert _requests() == 1

    snapshot.refresh()  # claims the pending request
    for n in range(50):
        _save(enrolment, session, ("late", "excused")[n % 2], django_capture_on_commit_callbacks)
    assert _requests() == 2


def test_a_change_committed_during_a_refresh_queues_another_that_stores_it(
    programme,  # noqa: F811
    no_broker,
    django_capture_on_commit_callbacks,
):
    enrolment = Enrollment.objects.order_by("pk").first()
    session = enrolment.course.sessions.order_by("pk").first()
    _save(enrolment, session, "absent", django_capture_on_commit_callbacks)
    assert _requests() == 1
    compute = fig.report_figures

    def during_the_refresh(*args, **kwargs):
        report = compute(*args, **kwargs)  # read before the save below commits
        _save(enrolment, session, "present", django_capture_on_commit_callbacks)
        return report

    with mock.patch.object(fig, "report_figures", side_effect=during_the_refresh):
        snapshot.refresh()
    assert _requests() == 2  # the save saw its request claimed already and queued a new one
    assert _stored().groups["programme"] != _live().groups["programme"]

    snapshot.refresh()
    assert _stored().groups["programme"] == _live().groups["programme"]


def test_an_older_computation_does_not_overwrite_a_newer_one(programme, no_broker):  # noqa: F811
    compute = fig.report_figures
    newer = {}

    def a_newer_refresh_meanwhile(*args, **kwargs):
        report = compute(*args, **kwargs)
        OutboxEvent.objects.create(topic=OutboxEvent.Topic.TASK, name=snapshot.TASK, payload={})
        with mock.patch.object(fig, "report_figures", compute):
            assert snapshot.refresh()
        newer["at"] = FiguresSnapshot.objects.get().computed_at
        return report

    with mock.patch.object(fig, "report_figures", side_effect=a_newer_refresh_meanwhile):
        assert not snapshot.refresh(now=timezone.now() - datetime.timedelta(seconds=1))
    assert FiguresSnapshot.objects.get().computed_at == newer["at"]


AS_OF = "Figures as of"


def _mark_someone(capture=None):
    enrolment = Enrollment.objects.order_by("pk").last()
    session = enrolment.course.sessions.order_by("starts_at").first()
    attendance_record(enrollment=enrolment, session=session, status="present")


def test_the_pages_read_the_snapshot_until_it_is_refreshed_stale_or_expired(
    programme,  # noqa: F811
    officer_client,
    staff_client,
    no_broker,
    settings,
):
    snapshot.refresh()
    before = _live().groups["programme"][()]

    page = officer_client.get("/reports/")
    assert page.context["table"].as_of is not None
    assert AS_OF in page.content.decode()
    assert page.context["table"].extra["figures"] == before
    assert AS_OF in officer_client.get("/reports/ministries/").content.decode()
    assert AS_OF in staff_client.get("/dashboard/").content.decode()
    summary = officer_client.get("/api/v1/reports/attendance-summary/").json()
    assert summary["as_of"] is not None

    # A change not refreshed yet: the page keeps showing the snapshot, saying when it was computed.
    _mark_someone()
    after = _live().groups["programme"][()]
    assert after != before
    assert officer_client.get("/reports/").context["table"].extra["figures"] == before
    # Filtered views stay live.
    course_id = Enrollment.objects.order_by("pk").last().course_id
    filtered = officer_client.get("/reports/", {"course": course_id})
    assert filtered.context["table"].as_of is None and AS_OF not in filtered.content.decode()

    # Expired (a session started since): live again, without "as of".
    FiguresSnapshot.objects.update(valid_until=timezone.now() - datetime.timedelta(seconds=1))
    page = officer_client.get("/reports/")
    assert page.context["table"].as_of is None and AS_OF not in page.content.decode()
    assert page.context["table"].extra["figures"] == after
    assert officer_client.get("/api/v1/reports/attendance-summary/").json()["as_of"] is None

    # Refreshed, then too old (the refreshes stopped): live again.
    snapshot.refresh()
    assert officer_client.get("/reports/").context["table"].as_of is not None
    FiguresSnapshot.objects.update(
        computed_at=timezone.now()
        - datetime.timedelta(seconds=settings.PCP_FIGURES_SNAPSHOT_MAX_AGE_SECONDS + 1)
    )
    page = officer_client.get("/reports/")
    assert page.context["table"].as_of is None
    assert page.context["table"].extra["figures"] == after


def test_the_snapshot_expires_at_the_next_session_start(programme):  # noqa: F811
    snapshot.refresh()
    stored = FiguresSnapshot.objects.get()
    from courses.models import Session

    first = (
        Session.objects.exclude(status="cancelled")
        .filter(starts_at__gt=stored.computed_at)
        .order_by("starts_at")
        .first()
    )
    assert stored.valid_until == first.starts_at
    assert not snapshot.is_valid(stored, now=first.starts_at)


def test_a_snapshot_read_is_one_query(programme, django_assert_num_queries):  # noqa: F811
    snapshot.refresh()
    with django_assert_num_queries(1):
        report = fig.report_figures(fig.ReportFilters(), ("course", "programme"), reach=True)
    assert report.as_of is not None
