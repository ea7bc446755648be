"""Writes of self check-in. Every mark goes through participants.services.attendance_record_many,
the register's one door, so a check-in has its history row (with no user, and the reason
"self-check-in") and its version like any other mark."""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Session
from ministries.models import Ministry
from participants import services
from participants.checkin.selectors import SELF_CHECK_IN, arrival_status, check_in_refusal, local_time
from participants.models import Attendance, Enrollment, Official, SelfCheckIn, WalkIn
from pcp_portal.text import clean_text, phone_key

KHMER_LETTER = re.compile(r"[\u1780-\u17ff]")


class CheckInRefused(ValidationError):
    """A check-in, walk-in or undo that cannot be done; nothing was written. `code` says which
    rule refused it (cancelled, closed, not_enrolled, withdrawn, already, changed, ...)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)


def _already(enrollment: Enrollment, moment: datetime.datetime) -> CheckInRefused:
    return CheckInRefused(
        _("%(name)s is already checked in at %(time)s.")
        % {"name": enrollment.official.full_name, "time": local_time(moment)},
        "already",
    )


def self_check_in(
    *, session: Session, enrollment_id: int, ip_address: str | None = None, now=None
) -> SelfCheckIn:
    """Mark an enrolled official present (or late, by the time of arrival) at `session`.

    Refused: a session cancelled or not open for check-in, an official not enrolled or withdrawn,
    one already checked in or already marked present or late by staff. A mark of excused or
    absent made before the official arrived is replaced (and an undo brings it back).
    """
    now = now or timezone.now()
    refusal = check_in_refusal(session, now)
    if refusal:
        raise CheckInRefused(refusal, "closed")
    enrollment = (
        Enrollment.objects.select_related("official")
        .filter(pk=enrollment_id, course_id=session.course_id)
        .first()
    )
    if enrollment is None:
        raise CheckInRefused(_("This person is not enrolled in this session's course."), "not_enrolled")
    if enrollment.status != Enrollment.Status.ENROLLED:
        raise CheckInRefused(
            _("%(name)s has withdrawn from this course: please see the staff at the door.")
            % {"name": enrollment.official.full_name},
            "withdrawn",
        )
    with transaction.atomic():
        standing = SelfCheckIn.objects.filter(session=session, enrollment=enrollment, undone_at__isnull=True)
        if (earlier := standing.first()) is not None:
            raise _already(enrollment, earlier.checked_in_at)
        before = Attendance.objects.filter(session=session, enrollment=enrollment).first()
        if before is not None and before.attended:
            raise _already(enrollment, before.recorded_at)
        status = arrival_status(session, now)
        row = services.AttendanceRow(
            status=status, enrollment=enrollment, expected_version=before.version if before else 0
        )
        try:
            [outcome] = services.attendance_record_many(
                session=session, rows=[row], recorded_by=None, change_reason=SELF_CHECK_IN
            )
        except services.StaleAttendanceError as stale:  # staff marked them a moment ago
            raise _already(enrollment, stale.current.recorded_at) from None
        except services.AttendanceRowsInvalid as invalid:
            raise CheckInRefused(" ".join(invalid.messages), "invalid") from None
        try:
            with transaction.atomic():
                return SelfCheckIn.objects.create(
                    session=session,
                    enrollment=enrollment,
                    status=status,
                    checked_in_at=now,
                    version=outcome.attendance.version,
                    previous_status=before.status if before else "",
                    previous_note=before.note if before else "",
                    previous_version=before.version if before else 0,
                    ip_address=ip_address,
                )
        except IntegrityError:
            # Two phones checked the same official in at once: the other one holds (and this
            # transaction, with its write of the mark, is rolled back by the exception).
            other = standing.first()
            raise _already(enrollment, other.checked_in_at if other else now) from None


@transaction.atomic
def self_check_in_undo(*, check_in: SelfCheckIn, undone_by) -> None:
    """Put the official's mark back as it was before the check-in (no mark at all, or the earlier
    one), recorded in the history under `undone_by`. Refused once staff changed the mark since:
    the register then holds their choice, which undoing would overwrite."""
    check_in = (
        SelfCheckIn.objects.select_for_update().select_related("enrollment__official").get(pk=check_in.pk)
    )
    if check_in.undone_at is not None:
        raise CheckInRefused(_("This check-in was already undone."), "undone")
    session = Session.objects.get(pk=check_in.session_id)
    attendance = (
        Attendance.objects.select_for_update()
        .filter(session=session, enrollment_id=check_in.enrollment_id)
        .first()
    )
    if attendance is None or attendance.version != check_in.version:
        raise CheckInRefused(
            _("%(name)s's mark was changed in the register since the check-in: change it there.")
            % {"name": check_in.enrollment.official.full_name},
            "changed",
        )
    if check_in.previous_version == 0:
        attendance._history_user = undone_by
        attendance.delete()
    else:
        services.attendance_record_many(
            session=session,
            rows=[
                services.AttendanceRow(
                    status=check_in.previous_status,
                    enrollment=check_in.enrollment_id,
                    note=check_in.previous_note,
                    expected_version=check_in.version,
                )
            ],
            recorded_by=undone_by,
        )
    check_in.undone_at = timezone.now()
    check_in.undone_by = undone_by
    check_in.save(update_fields=["undone_at", "undone_by"])


def walk_in_create(
    *, session: Session, name: str, ministry: Ministry, phone: str, ip_address: str | None = None, now=None
) -> WalkIn:
    """Note someone at the door who is not enrolled, for staff to confirm or dismiss. Once per
    phone number and session while staff have not decided."""
    now = now or timezone.now()
    refusal = check_in_refusal(session, now)
    if refusal:
        raise CheckInRefused(refusal, "closed")
    name, key = clean_text(name), phone_key(phone)
    if not name:
        raise CheckInRefused(_("Write your name."), "no_name")
    if len(key) < 8:
        raise CheckInRefused(_("Write your phone number (at least 8 digits)."), "no_phone")
    with transaction.atomic():
        for other in WalkIn.objects.select_for_update().filter(session=session, status=WalkIn.Status.PENDING):
            if phone_key(other.phone) == key:
                raise CheckInRefused(
                    _("Your name is already on the list for the staff (since %(time)s).")
                    % {"time": local_time(other.arrived_at)},
                    "already",
                )
        return WalkIn.objects.create(
            session=session,
            name=name,
            ministry=ministry,
            phone=clean_text(phone),
            arrived_at=now,
            ip_address=ip_address,
        )


def _walk_in_official(walk_in: WalkIn, confirmed_by) -> Official:
    """The official a walk-in is: the one with the same phone number, else a new one."""
    key = phone_key(walk_in.phone)
    for official in Official.objects.filter(search_contact__startswith=key):
        if official.search_contact.split(" ")[0] == key:
            return official
    if KHMER_LETTER.search(walk_in.name):
        names = {"name_km": walk_in.name}
    else:
        family, _space, given = walk_in.name.partition(" ")
        names = {"family_name": family, "given_name": given}
    return services.official_create(
        changed_by=confirmed_by, ministry=walk_in.ministry, phone=walk_in.phone, **names
    )


@transaction.atomic
def walk_in_confirm(*, walk_in: WalkIn, confirmed_by) -> Enrollment:
    """Enrol a walk-in in the session's course (through enrollment_create: the ministry must have
    existed that day) and mark them present or late by the time they arrived."""
    walk_in = WalkIn.objects.select_for_update().select_related("session", "ministry").get(pk=walk_in.pk)
    if walk_in.status != WalkIn.Status.PENDING:
        raise CheckInRefused(_("Staff have already decided on this walk-in."), "decided")
    session = walk_in.session
    if session.status == Session.Status.CANCELLED:
        raise CheckInRefused(_("This session was cancelled: there is nothing to check in to."), "cancelled")
    official = _walk_in_official(walk_in, confirmed_by)
    enrollment = Enrollment.objects.filter(official=official, course_id=session.course_id).first()
    if enrollment is None:
        enrollment = services.enrollment_create(
            official=official, course=session.course, changed_by=confirmed_by
        )
    elif enrollment.status != Enrollment.Status.ENROLLED:
        enrollment = services.enrollment_reinstate(enrollment=enrollment, changed_by=confirmed_by)
    services.attendance_record_many(
        session=session,
        rows=[
            services.AttendanceRow(
                status=arrival_status(session, walk_in.arrived_at),
                enrollment=enrollment,
                note=_("walk-in, arrived at %(time)s") % {"time": local_time(walk_in.arrived_at)},
            )
        ],
        recorded_by=confirmed_by,
    )
    walk_in.status, walk_in.official = WalkIn.Status.CONFIRMED, official
    walk_in.decided_at, walk_in.decided_by = timezone.now(), confirmed_by
    walk_in.save(update_fields=["status", "official", "decided_at", "decided_by"])
    return enrollment


@transaction.atomic
def walk_in_dismiss(*, walk_in: WalkIn, dismissed_by) -> None:
    walk_in = WalkIn.objects.select_for_update().get(pk=walk_in.pk)
    if walk_in.status != WalkIn.Status.PENDING:
        raise CheckInRefused(_("Staff have already decided on this walk-in."), "decided")
    walk_in.status = WalkIn.Status.DISMISSED
    walk_in.decided_at, walk_in.decided_by = timezone.now(), dismissed_by
    walk_in.save(update_fields=["status", "decided_at", "decided_by"])
