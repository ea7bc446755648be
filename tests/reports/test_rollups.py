"""The rollups the figures read are what a rebuild from the attendance gives, after any sequence of
changes through the services; and the figures read from them are the figures read from the
attendance itself.

Property-based (Hypothesis, profile in tests/conftest.py): each example applies a random sequence
of changes to a small programme through the services (marks one by one and in a register, enrolling
one or several, withdrawing and reinstating, cancelling or rescheduling a session, changing an
official's sex, merging two officials and undoing a merge), then compares the maintained rollups
with a rebuild from scratch, and the figures of every report read both ways. Each example rolls
its changes back. Runs on SQLite and, in CI, on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from courses.models import Session
from courses.services import session_cancel, session_update
from participants import merging, rollups
from participants.models import Enrollment, EnrolmentRollup, Official, OfficialMerge, SessionRollup
from participants.reports import figures as fig
from participants.services import (
    AttendanceRow,
    attendance_record,
    attendance_record_many,
    enrollment_create,
    enrollment_reinstate,
    enrollment_withdraw,
    enrollments_create_many,
    official_update,
)
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    SessionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

STATUSES = ("present", "late", "excused", "absent")
SEXES = ("female", "male", "other")


class Rollback(Exception):
    """Raised at the end of an example to roll its changes back."""


@pytest.fixture
def programme(db):
    """Two ministries, three courses of three sessions (two held, one to come), six officials."""
    ministries = [MinistryFactory(), MinistryFactory()]
    now = timezone.now()
    courses = [CourseFactory(number=n) for n in (1, 2, 3)]
    for course in courses:
        for days in (-3, -1, 5):
            SessionFactory(course=course, starts_at=now + datetime.timedelta(days=days))
    officials = [OfficialFactory(ministry=ministries[n % 2], sex=SEXES[n % 3]) for n in range(6)]
    for n, official in enumerate(officials):
        for course in courses[: 1 + n % 3]:
            EnrollmentFactory(official=official, course=course)
    enrolment = Enrollment.objects.order_by("pk").first()
    AttendanceFactory(enrollment=enrolment, session=enrolment.course.sessions.order_by("pk").first())
    return courses


def _pick(rows: list, index: int):
    return rows[index % len(rows)] if rows else None


def _sessions() -> list[Session]:
    return list(Session.objects.order_by("pk"))


def _enrolments() -> list[Enrollment]:
    return list(Enrollment.objects.select_related("course").order_by("pk"))


def _officials() -> list[Official]:
    return list(Official.objects.order_by("pk"))


def _mark(i: int, j: int, status: str) -> None:
    enrolment = _pick(_enrolments(), i)
    session = _pick(list(enrolment.course.sessions.order_by("pk")), j)
    attendance_record(enrollment=enrolment, session=session, status=status)


def _register(j: int, statuses: list[str]) -> None:
    session = _pick(_sessions(), j)
    enrolments = list(Enrollment.objects.filter(course=session.course, status="enrolled").order_by("pk"))
    rows = [AttendanceRow(enrollment=e, status=s) for e, s in zip(enrolments, statuses, strict=False)]
    attendance_record_many(session=session, rows=rows)


def _enrol(i: int, k: int) -> None:
    enrollment_create(official=_pick(_officials(), i), course=_pick(_sessions(), k).course)


def _enrol_many(k: int, officials: list[int]) -> None:
    course = _pick(_sessions(), k).course
    enrolled = set(Enrollment.objects.filter(course=course).values_list("official_id", flat=True))
    chosen = {o.pk: o for o in (_pick(_officials(), i) for i in officials) if o.pk not in enrolled}
    enrollments_create_many(course=course, entries=[(o, None) for o in chosen.values()])


def _withdraw(i: int) -> None:
    enrollment_withdraw(enrollment=_pick(_enrolments(), i), reason="moved")


def _reinstate(i: int) -> None:
    enrollment_reinstate(enrollment=_pick(_enrolments(), i))


def _cancel(j: int) -> None:
    session_cancel(session=_pick(_sessions(), j), reason="rain")


def _reschedule(j: int, days: int) -> None:
    start = timezone.now() + datetime.timedelta(days=days, minutes=1)
    session_update(
        session=_pick(_sessions(), j), starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )


def _sex(i: int, sex: str) -> None:
    official_update(official=_pick(_officials(), i), sex=sex)


def _merge(i: int, k: int) -> None:
    officials = _officials()
    survivor, other = _pick(officials, i), _pick(officials, k)
    if survivor is None or survivor.pk == other.pk or OfficialMerge.objects.filter(survivor=other).exists():
        return  # the merge service does not merge away an official other records were merged into
    mine = {e.course_id: e.pk for e in Enrollment.objects.filter(official=survivor)}
    theirs = set(Enrollment.objects.filter(official=other).values_list("course_id", flat=True))
    keep = {course: mine[course] for course in theirs & mine.keys()}
    merging.official_merge(survivor_id=survivor.pk, other_id=other.pk, keep=keep)


def _undo_merge() -> None:
    last = OfficialMerge.objects.filter(undone_at__isnull=True).order_by("-pk").first()
    if last is not None:
        merging.official_merge_undo(merge_id=last.pk)


small = st.integers(min_value=0, max_value=40)
CHANGES = st.one_of(
    st.tuples(st.just(_mark), small, small, st.sampled_from(STATUSES)),
    st.tuples(st.just(_register), small, st.lists(st.sampled_from(STATUSES), max_size=8)),
    st.tuples(st.just(_enrol), small, small),
    st.tuples(st.just(_enrol_many), small, st.lists(small, max_size=4)),
    st.tuples(st.just(_withdraw), small),
    st.tuples(st.just(_reinstate), small),
    st.tuples(st.just(_cancel), small),
    st.tuples(st.just(_reschedule), small, st.integers(min_value=-4, max_value=4)),
    st.tuples(st.just(_sex), small, st.sampled_from(SEXES)),
    st.tuples(st.just(_merge), small, small),
    st.tuples(st.just(_undo_merge)),
)


def _stored() -> tuple[list, list]:
    enrolments = list(
        EnrolmentRollup.objects.order_by("pk").values_list(
            "enrollment_id",
            "course_id",
            "official_id",
            "ministry_id",
            "ministry_name_en",
            "ministry_acronym",
            "sex",
            "active",
            "attended",
            "late",
            "excused",
            "absent",
        )
    )
    # A group whose last mark went keeps a row of zeros until a rebuild: the sums are the same.
    sessions = list(
        SessionRollup.objects.exclude(attended=0, late=0, excused=0, absent=0)
        .order_by("session_id", "sex", "ministry_id")
        .values_list("session_id", "sex", "ministry_id", "attended", "late", "excused", "absent")
    )
    return enrolments, sessions


def _every_figure(now) -> dict:
    filters = [fig.ReportFilters()]
    filters += [fig.ReportFilters(course_id=pk) for pk in Session.objects.values_list("course_id", flat=True)]
    filters += [
        fig.ReportFilters(ministry_id=pk) for pk in Official.objects.values_list("ministry_id", flat=True)
    ]
    groups = ("programme", "course", "ministry", "ministry_name", "sex", "enrolment", "course_ministry")
    return {
        f: (fig.report_figures(f, groups, reach=True, now=now), fig.session_figures(f, now=now))
        for f in filters
    }


def _from_attendance(now) -> dict:
    with (
        mock.patch.object(fig, "reads_rollups", return_value=False),
        mock.patch.object(fig, "session_reads_rollups", return_value=False),
    ):
        return _every_figure(now)


@given(changes=st.lists(CHANGES, min_size=1, max_size=10))
def test_the_kept_rollups_are_a_rebuild_and_give_the_figures_of_the_attendance(programme, changes):
    try:
        with transaction.atomic():
            for change, *arguments in changes:
                # A change the service refuses (a cancelled session, a withdrawn enrolment…) writes nothing.
                with contextlib.suppress(ValidationError):
                    change(*arguments)
            kept = _stored()
            now = timezone.now()
            assert _every_figure(now) == _from_attendance(now)
            rollups.rebuild()
            assert _stored() == kept
            raise Rollback
    except Rollback:
        pass


def test_the_command_rebuilds_every_rollup(programme):
    kept = _stored()
    EnrolmentRollup.objects.all().delete()
    SessionRollup.objects.all().delete()

    call_command("rebuild_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _stored() == kept
    assert len(kept[0]) == Enrollment.objects.count() and kept[1]
