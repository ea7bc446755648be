"""Every write to officials, enrolments and attendance goes through these functions.

Views, the API, imports and tasks all call them, so each rule lives in one place: the
snapshot taken at enrolment, the refusal of a stale attendance change, the history entry.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from courses.models import Course, Session
from courses.services import course_is_cancelled_locked
from ministries.models import Ministry
from participants.models import Attendance, AttendanceStatus, Enrollment, Official


class StaleAttendanceError(Exception):
    """The attendance row changed since the client read it; carries the newer row."""

    def __init__(self, current: Attendance) -> None:
        self.current = current
        super().__init__(
            f"Attendance {current.pk} is at version {current.version}, recorded by {current.recorded_by}"
        )


def _clean_and_save(instance, *, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude)
    instance.save()


@transaction.atomic
def official_create(*, changed_by=None, **fields) -> Official:
    official = Official(**fields)
    if official.department_id and official.department.ministry_id != official.ministry_id:
        raise ValidationError({"department": _("This department belongs to another ministry.")})
    official._history_user = changed_by
    _clean_and_save(official)
    return official


@transaction.atomic
def official_update(*, official: Official, changed_by=None, **fields) -> Official:
    for name, value in fields.items():
        setattr(official, name, value)
    if official.department_id and official.department.ministry_id != official.ministry_id:
        raise ValidationError({"department": _("This department belongs to another ministry.")})
    official._history_user = changed_by
    _clean_and_save(official)
    return official


def _snapshot_ministry(official: Official, on: datetime.date) -> dict:
    ministry = official.ministry
    former = ministry.name_on(on)
    source = former or ministry
    return {
        "ministry": ministry,
        "ministry_name_en": source.name_en,
        "ministry_name_km": source.name_km,
        "ministry_acronym": source.acronym,
        "position": official.position,
    }


def enrollment_date(course: Course, *, today: datetime.date | None = None) -> datetime.date:
    """The date of an enrolment entered without one: today, or the day the course began when it is
    over already (a walk-in or a nominee entered afterwards from the sign-in sheet was enrolled by
    then, and belonged then to the ministry recorded). The course's dates, else its sessions'."""
    today = today or timezone.localdate()
    start, end = course.start_date, course.end_date or course.start_date
    if start is None and course.pk:
        bounds = Session.objects.filter(course=course, starts_at__isnull=False).aggregate(
            first=Min("starts_at"), last=Max("starts_at")
        )
        if bounds["first"] is not None:
            start, end = timezone.localdate(bounds["first"]), timezone.localdate(bounds["last"])
    if start is not None and end is not None and end < today:
        return start
    return today


def ministry_refusal(ministry: Ministry, on: datetime.date) -> str | None:
    """Why `ministry` cannot be an official's ministry on `on` (it did not exist then), or None.

    Enrolments are checked on their date (`enrollment_date` when none is given): the snapshot
    names the ministry of that day, so it must have existed that day. Renames are not refused.
    """
    if ministry.existed_on(on):
        return None
    values = {"ministry": ministry, "date": date_format(on)}
    if ministry.established_on is not None and on < ministry.established_on:
        return _(
            "%(ministry)s was established on %(established)s, after %(date)s: choose the ministry the "
            "official belonged to on that date."
        ) % {**values, "established": date_format(ministry.established_on)}
    return _(
        "%(ministry)s was dissolved on %(dissolved)s, before %(date)s: choose the ministry the official "
        "belonged to on that date."
    ) % {**values, "dissolved": date_format(ministry.dissolved_on)}


@transaction.atomic
def enrollment_create(
    *,
    official: Official,
    course: Course,
    enrolled_on: datetime.date | None = None,
    changed_by=None,
    is_demo: bool = False,
) -> Enrollment:
    """Enrol an official, keeping the ministry name and position valid on the day of enrolment.

    Without `enrolled_on` the date is `enrollment_date(course)`. The official's ministry must have
    existed on that date (a body dissolved in 2013 sent no one to a 2020 course).
    """
    if course_is_cancelled_locked(course):
        raise ValidationError(_("This course is cancelled: no one can be enrolled in it."))
    enrolled_on = enrolled_on or enrollment_date(course)
    refusal = ministry_refusal(official.ministry, enrolled_on)
    if refusal:
        raise ValidationError({"ministry": refusal})
    enrollment = Enrollment(
        official=official,
        course=course,
        enrolled_on=enrolled_on,
        is_demo=is_demo,
        **_snapshot_ministry(official, enrolled_on),
    )
    enrollment._history_user = changed_by
    try:
        with transaction.atomic():
            _clean_and_save(enrollment, exclude=["official", "course"])
    except IntegrityError:
        raise ValidationError(
            {"official": _("%(official)s is already enrolled in this course.") % {"official": official}}
        ) from None
    return enrollment


@transaction.atomic
def enrollment_withdraw(*, enrollment: Enrollment, reason: str = "", changed_by=None) -> Enrollment:
    """Withdraw without deleting: the enrolment and its attendance stay in the record."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status == Enrollment.Status.WITHDRAWN:
        return enrollment
    enrollment.status = Enrollment.Status.WITHDRAWN
    enrollment.withdrawn_at = timezone.now()
    enrollment.withdrawal_reason = reason
    enrollment._history_user = changed_by
    enrollment.save()
    return enrollment


@transaction.atomic
def enrollment_reinstate(*, enrollment: Enrollment, changed_by=None) -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    enrollment.status = Enrollment.Status.ENROLLED
    enrollment.withdrawn_at = None
    enrollment._history_user = changed_by
    enrollment.save()
    return enrollment


def validate_attendance_status(status: str) -> str:
    if status not in AttendanceStatus.values:
        raise ValidationError(
            {
                "status": _("“%(status)s” is not an attendance status; use one of: %(choices)s.")
                % {"status": status, "choices": ", ".join(AttendanceStatus.values)}
            }
        )
    return status


@transaction.atomic
def attendance_record(
    *,
    enrollment: Enrollment,
    session: Session,
    status: str,
    note: str | None = None,
    recorded_by=None,
    expected_version: int | None = None,
    is_demo: bool = False,
) -> tuple[Attendance, bool]:
    """Record or change one official's attendance at one session.

    `expected_version` is the version the client last saw (0 or None for "no row yet"). If the
    row has moved on since, nothing is written and StaleAttendanceError carries the newer row,
    unless the stored row already is what is sent and the same user recorded it (a retry of
    their own save). Returns (attendance, changed): an identical repeat changes nothing and
    keeps the version.
    """
    validate_attendance_status(status)
    if enrollment.course_id != session.course_id:
        raise ValidationError({"session": _("This session belongs to another course than the enrolment.")})
    if enrollment.status != Enrollment.Status.ENROLLED:
        raise ValidationError({"enrollment": _("This official has withdrawn from the course.")})
    if session.status == Session.Status.CANCELLED:
        raise ValidationError({"session": _("This session was cancelled; attendance cannot be recorded.")})

    current = (
        Attendance.objects.select_for_update(of=("self",))
        .select_related("recorded_by")
        .filter(enrollment=enrollment, session=session)
        # One row by a unique pair: Attendance's default ordering would join eight tables to sort it.
        .order_by()
        .first()
    )
    if current is None:
        if expected_version not in (None, 0):
            # The client saw a row that no longer exists: treat as stale rather than recreate blindly.
            raise ValidationError(
                {"version": _("This attendance row no longer exists; reload the register.")}
            )
        attendance = Attendance(
            enrollment=enrollment,
            session=session,
            status=status,
            note=note or "",
            recorded_by=recorded_by,
            recorded_at=timezone.now(),
            is_demo=is_demo,
        )
        attendance._history_user = recorded_by
        try:
            with transaction.atomic():
                attendance.save()
        except IntegrityError:
            # Another request created the row between our read and our insert.
            raise StaleAttendanceError(
                Attendance.objects.select_related("recorded_by").get(enrollment=enrollment, session=session)
            ) from None
        return attendance, True

    new_note = current.note if note is None else note
    identical = current.status == status and current.note == new_note
    # A repeat of one's own save (the reply to the first was lost, the client sends it again
    # with the version it had then) already holds: answer success before the stale check,
    # which is only for someone else's change.
    if identical and current.recorded_by_id == getattr(recorded_by, "pk", None):
        return current, False
    if expected_version is not None and expected_version != current.version:
        raise StaleAttendanceError(current)
    if identical:
        return current, False
    current.status = status
    current.note = new_note
    current.recorded_by = recorded_by
    current.recorded_at = timezone.now()
    current.version += 1
    current._history_user = recorded_by
    current.save()
    return current, True
