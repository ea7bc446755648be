"""Every write to officials, enrolments and attendance goes through these functions.

Views, the API, imports and tasks all call them, so each rule lives in one place: the
snapshot taken at enrolment, the refusal of a stale attendance change, the history entry.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, transaction
from django.db.models import CharField, Max, Min, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from courses.models import Course, Session
from courses.services import course_is_cancelled_locked
from ministries.models import Ministry
from participants import rollups
from participants.models import Attendance, AttendanceStatus, Enrollment, Official, official_search_keys
from pcp_portal import bulkcopy
from pcp_portal.db import history_ip_address
from pcp_portal.forms import label_in_language


class StaleAttendanceError(Exception):
    """An attendance row changed since the client read it; carries the newer row (`current`, the
    first in the order written) and, for a register write, every newer row (`conflicts`)."""

    def __init__(self, current: Attendance, *, conflicts: list[Attendance] | None = None) -> None:
        self.current = current
        self.conflicts = conflicts or [current]
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
    """Change an official's own fields, with a history row naming `changed_by` (the audit trail).

    Enrolments are not touched: each keeps the ministry and position it was made with. The row is
    locked first, so an edit cannot bring back an official that a merge removed meanwhile (a plain
    save of a vanished row would insert it again), and a changed ministry must exist today.
    """
    stored_sex = (
        Official.objects.select_for_update().filter(pk=official.pk).values_list("sex", flat=True).first()
    )
    if stored_sex is None:
        raise ValidationError(
            _("This official no longer exists: it was merged into another record or deleted.")
        )
    ministry_changed = (
        "ministry" in fields and getattr(fields["ministry"], "pk", None) != official.ministry_id
    )
    for name, value in fields.items():
        setattr(official, name, value)
    if official.department_id and official.department.ministry_id != official.ministry_id:
        raise ValidationError({"department": _("This department belongs to another ministry.")})
    if ministry_changed:
        refusal = ministry_refusal(official.ministry, timezone.localdate())
        if refusal:
            raise ValidationError({"ministry": refusal})
    official._history_user = changed_by
    official.full_clean()
    official.save(force_update=True)
    if official.sex != stored_sex:
        rollups.refresh_officials([official.pk])
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
    values = {"ministry": label_in_language(ministry), "date": date_format(on)}
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
    rollups.refresh(enrollments=[enrollment.pk])
    return enrollment


# Rows per statement of the bulk writes below: a few hundred kilobytes of parameters at most, and
# far below PostgreSQL's 65,535 bind parameters (an official's insert has 17 columns).
BULK_BATCH_SIZE = 1000


class RowsInvalid(ValidationError):
    """Rows of a bulk write that cannot be written; nothing was. `row_errors` maps the position of
    each bad row (in the rows given) to its message."""

    def __init__(self, row_errors: dict[int, str]) -> None:
        self.row_errors = row_errors
        super().__init__([row_errors[index] for index in sorted(row_errors)])


def _batches(items: list, size: int = BULK_BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_each_official(officials: list[Official]) -> None:
    """Each official's own fields and clean(), as official_create checks them; RowsInvalid names
    every row that fails. Uniqueness, constraints and the ministry's existence (a foreign key,
    given as a loaded row) are left to the database: checking them here costs a query per
    official, which the bulk writes exist to avoid."""
    errors: dict[int, str] = {}
    for index, official in enumerate(officials):
        try:
            official.full_clean(
                exclude=["department", "ministry"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as error:
            errors[index] = " ".join(error.messages)
    if errors:
        raise RowsInvalid(errors)


_TEXT_FIELDS = [
    field for field in Official._meta.concrete_fields if isinstance(field, CharField) and field.max_length
]


def _check_lengths(officials: list[Official]) -> None:
    """What a caller's own checks may leave (an e-mail address the validator takes, longer than the
    column): each text's length, with full_clean's message, rather than a database error."""
    errors: dict[int, str] = {}
    for index, official in enumerate(officials):
        for field in _TEXT_FIELDS:
            value = getattr(official, field.attname)
            if value and len(value) > field.max_length:
                try:
                    MaxLengthValidator(field.max_length)(value)
                except ValidationError as error:
                    errors[index] = " ".join(error.messages)
    if errors:
        raise RowsInvalid(errors)


@transaction.atomic
def officials_create_many(
    *, officials: list[Official], changed_by=None, on_batch=None, checked: bool = False
) -> list[Official]:
    """Create many officials at once: official_create's rules, written in bulk with their history.

    Each official is checked as official_create checks it (its fields and clean()), unless the
    caller has `checked` them already (an import's preview did: then only the lengths are checked
    again, see _check_lengths); the e-mail's uniqueness and the
    constraints are the database's (an IntegrityError rolls the caller back). Their search
    columns are written as save() writes them. On PostgreSQL each batch of BULK_BATCH_SIZE goes in
    with COPY (pcp_portal.bulkcopy), elsewhere with one INSERT for the officials and one for their
    history rows; the officials get their ids either way. `on_batch(count)` is called after each
    batch written (an import's progress bar).
    """
    if checked:
        _check_lengths(officials)
    else:
        _check_each_official(officials)
    now = timezone.now()
    for official in officials:
        official.created_at = official.updated_at = now
        official.search_names, official.search_contact = official_search_keys(official)
    for batch in _batches(officials):
        if bulkcopy.available():
            _copy_with_history(Official, batch, changed_by, now)
        else:
            bulk_create_with_history(
                batch,
                Official,
                batch_size=BULK_BATCH_SIZE,
                default_user=changed_by,
                default_date=now,
                custom_historical_attrs=_history_attrs(),
            )
        if on_batch:
            on_batch(len(batch))
    return officials


def _copy_with_history(model, instances: list, changed_by, now) -> None:
    """Write new instances and their "+" history rows with COPY; each instance gets its id."""
    fields = [field.attname for field in model._meta.concrete_fields if not field.primary_key]
    ids = bulkcopy.insert_with_history(
        model,
        [{name: getattr(instance, name) for name in fields} for instance in instances],
        history_user_id=getattr(changed_by, "pk", None),
        history_date=now,
        history_attrs=_history_attrs(),
    )
    for instance, pk in zip(instances, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False


@transaction.atomic
def officials_update_many(
    *, officials: list[Official], fields: list[str], changed_by=None, on_batch=None, checked: bool = False
) -> None:
    """Save the given `fields` of many officials (already changed in memory, loaded under a lock by
    the caller), with a history row each, in bulk: official_update's rules (`checked` as for
    officials_create_many), one UPDATE per batch (on PostgreSQL from a staging table filled by
    COPY, pcp_portal.bulkcopy) and the history rows."""
    if checked:
        _check_lengths(officials)
    else:
        _check_each_official(officials)
    now = timezone.now()
    for official in officials:
        official.updated_at = now
        official.search_names, official.search_contact = official_search_keys(official)
    columns = [*fields, "updated_at", "search_names", "search_contact"]
    for batch in _batches(officials):
        if bulkcopy.available():
            attnames = [field.attname for field in Official._meta.concrete_fields]
            bulkcopy.update_with_history(
                Official,
                [{name: getattr(official, name) for name in attnames} for official in batch],
                [Official._meta.get_field(name).attname for name in columns],
                history_user_id=getattr(changed_by, "pk", None),
                history_date=now,
                history_attrs=_history_attrs(),
            )
        else:
            bulk_update_with_history(
                batch,
                Official,
                columns,
                batch_size=BULK_BATCH_SIZE,
                default_user=changed_by,
                default_date=now,
                custom_historical_attrs=_history_attrs(),
            )
        if on_batch:
            on_batch(len(batch))
    if "sex" in fields:
        rollups.refresh_officials(official.pk for official in officials)


@dataclass(frozen=True)
class Enrollee:
    """What enrolling needs of an official: far lighter than an Official when there are 50,000."""

    pk: int
    ministry_id: int
    position: str


@transaction.atomic
def enrollments_create_many(
    *,
    course: Course,
    entries: list[tuple[Official | Enrollee, datetime.date | None]],
    changed_by=None,
    on_batch=None,
) -> int:
    """Enrol many officials in one course: enrollment_create's rules (the course not cancelled, each
    ministry existing on the enrolment's date, the ministry's name of that day kept), in bulk.

    `entries` are (official, date or None for enrollment_date(course)). A row refused names its
    position in RowsInvalid and nothing is written; an official already enrolled is refused by the
    database's constraint (IntegrityError, the caller rolls back). Every entry is checked before
    the first is written; the enrolments are then made and written BULK_BATCH_SIZE at a time, so
    memory holds one batch of them, not the file. Returns how many were written.
    """
    if course_is_cancelled_locked(course):
        raise ValidationError(_("This course is cancelled: no one can be enrolled in it."))
    default_date = enrollment_date(course)
    ministries = {
        m.pk: m
        for m in Ministry.objects.filter(pk__in={o.ministry_id for o, _day in entries}).prefetch_related(
            "former_names"
        )
    }
    snapshots: dict[tuple[int, datetime.date], tuple[str | None, dict]] = {}

    def snapshot(ministry_id: int, day: datetime.date) -> tuple[str | None, dict]:
        if (ministry_id, day) not in snapshots:
            ministry = ministries[ministry_id]
            source = ministry.name_on(day) or ministry
            snapshots[ministry_id, day] = (
                ministry_refusal(ministry, day),
                {
                    "ministry": ministry,
                    "ministry_name_en": source.name_en,
                    "ministry_name_km": source.name_km,
                    "ministry_acronym": source.acronym,
                },
            )
        return snapshots[ministry_id, day]

    errors = {
        index: refusal
        for index, (official, day) in enumerate(entries)
        if (refusal := snapshot(official.ministry_id, day or default_date)[0])
    }
    if errors:
        raise RowsInvalid(errors)
    now = timezone.now()
    for batch in _batches(entries):
        if bulkcopy.available():
            # Plain values, not instances: what an Enrollment built here and saved would hold.
            written = bulkcopy.insert_with_history(
                Enrollment,
                [
                    _enrolment_values(official, course, day or default_date, now, snapshot)
                    for official, day in batch
                ],
                history_user_id=getattr(changed_by, "pk", None),
                history_date=now,
                history_attrs=_history_attrs(),
            )
        else:
            enrollments = [
                Enrollment(
                    official_id=official.pk,
                    course=course,
                    enrolled_on=day or default_date,
                    position=official.position,
                    created_at=now,
                    updated_at=now,
                    **snapshot(official.ministry_id, day or default_date)[1],
                )
                for official, day in batch
            ]
            bulk_create_with_history(
                enrollments,
                Enrollment,
                batch_size=BULK_BATCH_SIZE,
                default_user=changed_by,
                default_date=now,
                custom_historical_attrs=_history_attrs(),
            )
            written = [enrollment.pk for enrollment in enrollments]
        # The rollups of the enrolments just written, named by id: the course's enrolments without
        # a rollup would do too, but finding them reads the whole course again for each batch.
        if None in written:  # a backend that gives bulk-created rows no ids
            rollups.refresh(enrollments=Enrollment.objects.filter(course=course, rollup__isnull=True))
        else:
            rollups.refresh(enrollments=written)
        if on_batch:
            on_batch(len(batch))
    return len(entries)


def _enrolment_values(official, course: Course, day: datetime.date, now, snapshot) -> dict:
    """The column values of a new enrolment (attname -> value), the model's defaults included."""
    ministry = snapshot(official.ministry_id, day)[1]
    return {
        **_ENROLMENT_DEFAULTS,
        "official_id": official.pk,
        "course_id": course.pk,
        "enrolled_on": day,
        "position": official.position,
        "created_at": now,
        "updated_at": now,
        "ministry_id": ministry["ministry"].pk,
        "ministry_name_en": ministry["ministry_name_en"],
        "ministry_name_km": ministry["ministry_name_km"],
        "ministry_acronym": ministry["ministry_acronym"],
    }


_ENROLMENT_DEFAULTS = {
    field.attname: field.get_default() for field in Enrollment._meta.concrete_fields if not field.primary_key
}


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
    rollups.refresh_enrolments_and_their_sessions([enrollment.pk])
    return enrollment


@transaction.atomic
def enrollment_reinstate(*, enrollment: Enrollment, changed_by=None) -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    enrollment.status = Enrollment.Status.ENROLLED
    enrollment.withdrawn_at = None
    enrollment._history_user = changed_by
    enrollment.save()
    rollups.refresh_enrolments_and_their_sessions([enrollment.pk])
    return enrollment


def _status_error(status: str) -> ValidationError | None:
    if status in AttendanceStatus.values:
        return None
    return ValidationError(
        {
            "status": ValidationError(
                _("“%(status)s” is not an attendance status; use one of: %(choices)s.")
                % {"status": status, "choices": ", ".join(AttendanceStatus.values)},
                code="invalid_status",
            )
        }
    )


def validate_attendance_status(status: str) -> str:
    error = _status_error(status)
    if error is not None:
        raise error
    return status


@dataclass(frozen=True)
class AttendanceRow:
    """One line of a register write: whose attendance, the status, and what the writer last saw.

    Whose: `enrollment` (an Enrollment or its id), or else `official` (an official's id), within
    the session's course. `note` None keeps the stored note. `expected_version` is the version the
    writer last saw (0 for "no row yet"; None: whatever is stored is overwritten).
    """

    status: str
    enrollment: Enrollment | int | None = None
    official: int | None = None
    note: str | None = None
    expected_version: int | None = None

    @property
    def enrollment_id(self) -> int | None:
        return getattr(self.enrollment, "pk", self.enrollment)


class AttendanceResult(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # an identical repeat: nothing written, the version stays
    CONFLICT = "conflict"  # moved on since expected_version: left as it is (skip_conflicts only)


@dataclass(frozen=True)
class AttendanceOutcome:
    """What became of one row: `attendance` is the row as stored now (for a conflict, the newer
    row that stays), with its enrolment and the enrolment's official loaded."""

    row: AttendanceRow
    result: AttendanceResult
    attendance: Attendance

    @property
    def changed(self) -> bool:
        return self.result in (AttendanceResult.CREATED, AttendanceResult.CHANGED)


class AttendanceRowsInvalid(ValidationError):
    """Rows of a register write that cannot be recorded; nothing was written.

    `row_errors` maps the position of each bad row (in the rows given) to its own error, keyed
    by field ("status", "note", "version", and "enrollment" or "official" as the row named the
    person) and with a code: invalid_status, note_too_long, not_enrolled, withdrawn, listed_twice,
    row_gone. `labels` names the official of a bad row where one was found, and the messages of
    the whole error start with it.
    """

    def __init__(self, row_errors: dict[int, ValidationError], labels: dict[int, str]) -> None:
        self.row_errors = row_errors
        self.labels = labels
        super().__init__(
            [
                f"{labels[index]}: {message}" if index in labels else message
                for index, error in row_errors.items()
                for message in error.messages
            ]
        )

    def codes(self, index: int) -> set[str]:
        return {error.code for errors in self.row_errors[index].error_dict.values() for error in errors}


def _row_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _history_attrs() -> dict:
    """The client's address for history rows written in bulk (no signal adds it there)."""
    address = history_ip_address()
    return {"ip_address": address} if address is not None else {}


@transaction.atomic
def attendance_record_many(
    *,
    session: Session,
    rows: Iterable[AttendanceRow],
    recorded_by=None,
    skip_conflicts: bool = False,
    is_demo: bool = False,
    change_reason: str = "",
) -> list[AttendanceOutcome]:
    """Record or change the attendance of several officials at one session: the one register write.

    Every row is checked first (a known status, a note within Attendance.NOTE_MAX_LENGTH, an official
    enrolled in the session's course and not withdrawn, listed once, a version that names an
    existing row); if any fails, AttendanceRowsInvalid names each bad row and nothing is written.
    A cancelled session refuses every row (a ValidationError on `session`).

    Then each row, in this order (a repeat of the same write is never a conflict): no stored row ->
    created; the stored row already holds what is sent and the same user recorded it (a resend of
    their own save) -> unchanged; the row moved on since `expected_version` -> conflict; it holds
    what is sent -> unchanged (the version stays); otherwise -> changed, its version stepped. A
    conflict refuses the whole write (StaleAttendanceError, carrying every newer row) unless
    `skip_conflicts`, which leaves those rows as they are and writes the others. Outcomes come
    back in the order of `rows`.

    The rows are read and locked in one query and written in bulk, each with its history row
    (user and client address, and `change_reason` when given), whatever the number of rows.
    """
    rows = list(rows)
    if session.status == Session.Status.CANCELLED:
        raise _row_error(
            "session", _("This session was cancelled; attendance cannot be recorded."), "session_cancelled"
        )
    enrollments = _register_enrollments(session, rows)
    errors: dict[int, ValidationError] = {}
    labels: dict[int, str] = {}
    seen: set[int] = set()
    for index, (row, enrollment) in enumerate(zip(rows, enrollments, strict=True)):
        if enrollment is not None:
            labels[index] = str(enrollment.official)
        error = _row_refusal(row, enrollment, seen)
        if error is not None:
            errors[index] = error
        else:
            seen.add(enrollment.pk)

    # A row another request inserts between our read and our insert makes the insert fail: it is
    # then read again with the others and judged like any stored row (a repeat, a conflict, a change).
    retried = False
    while True:
        stored = _lock_stored(session, seen)
        for index, (row, enrollment) in enumerate(zip(rows, enrollments, strict=True)):
            if index not in errors and enrollment.pk not in stored and row.expected_version not in (None, 0):
                # The writer saw a row that no longer exists: refused rather than recreated blindly.
                errors[index] = _row_error(
                    "version", _("This attendance row no longer exists; reload the register."), "row_gone"
                )
        if errors:
            raise AttendanceRowsInvalid(errors, labels)
        outcomes = _judge(rows, enrollments, stored, session, recorded_by, is_demo)
        conflicts = [o.attendance for o in outcomes if o.result == AttendanceResult.CONFLICT]
        if conflicts and not skip_conflicts:
            raise StaleAttendanceError(conflicts[0], conflicts=conflicts)
        created = [o.attendance for o in outcomes if o.result == AttendanceResult.CREATED]
        if created:
            try:
                with transaction.atomic():
                    bulk_create_with_history(
                        created,
                        Attendance,
                        default_user=recorded_by,
                        default_change_reason=change_reason or None,
                        custom_historical_attrs=_history_attrs(),
                    )
            except IntegrityError:
                if retried:
                    raise
                retried = True
                continue
        changed = [o.attendance for o in outcomes if o.result == AttendanceResult.CHANGED]
        if changed:
            bulk_update_with_history(
                changed,
                Attendance,
                ["status", "note", "recorded_by", "recorded_at", "version", "updated_at"],
                default_user=recorded_by,
                default_change_reason=change_reason or None,
                custom_historical_attrs=_history_attrs(),
            )
        if created or changed:
            # The figures of the enrolments written and of the session, in this transaction.
            rollups.refresh(
                enrollments=[attendance.enrollment_id for attendance in (*created, *changed)],
                sessions=[session.pk],
            )
        return outcomes


def _row_refusal(row: AttendanceRow, enrollment: Enrollment | None, seen: set[int]) -> ValidationError | None:
    """Why this row cannot be recorded whatever is stored (None if it can); `seen`: the enrolments
    of the rows before it."""
    status_error = _status_error(row.status)
    if status_error is not None:
        return status_error
    if row.note is not None and len(row.note) > Attendance.NOTE_MAX_LENGTH:
        return _row_error(
            "note",
            _("A note can have at most %(limit)s characters.") % {"limit": Attendance.NOTE_MAX_LENGTH},
            "note_too_long",
        )
    who = "enrollment" if row.enrollment is not None else "official"
    if enrollment is None:
        return _row_error(who, _("This official is not enrolled in this session's course."), "not_enrolled")
    if enrollment.status != Enrollment.Status.ENROLLED:
        return _row_error(who, _("This official has withdrawn from the course."), "withdrawn")
    if enrollment.pk in seen:
        return _row_error(who, _("This official is listed twice."), "listed_twice")
    return None


def _register_enrollments(session: Session, rows: list[AttendanceRow]) -> list[Enrollment | None]:
    """The enrolment of each row within the session's course (None if there is none): one query."""
    by_pk = {row.enrollment_id for row in rows if row.enrollment is not None}
    by_official = {row.official for row in rows if row.enrollment is None and row.official is not None}
    found = list(
        Enrollment.objects.select_related("official")
        .filter(course_id=session.course_id)
        .filter(Q(pk__in=by_pk) | Q(official_id__in=by_official))
    )
    pks = {enrollment.pk: enrollment for enrollment in found}
    officials = {enrollment.official_id: enrollment for enrollment in found}
    return [
        pks.get(row.enrollment_id) if row.enrollment is not None else officials.get(row.official)
        for row in rows
    ]


def _lock_stored(session: Session, enrollment_ids: set[int]) -> dict[int, Attendance]:
    """The stored rows of these enrolments at `session`, locked in one query. In id order, so two
    register writes over the same rows lock them in the same order and cannot deadlock; and
    without Attendance's default ordering, which would join eight tables to sort."""
    if not enrollment_ids:
        return {}
    return {
        attendance.enrollment_id: attendance
        for attendance in Attendance.objects.select_for_update(of=("self",))
        .select_related("recorded_by")
        .filter(session=session, enrollment_id__in=enrollment_ids)
        .order_by("pk")
    }


def _judge(rows, enrollments, stored, session, recorded_by, is_demo) -> list[AttendanceOutcome]:
    """Each row's outcome, with the instance to write (new, or the stored row changed in memory)."""
    now = timezone.now()
    recorder = getattr(recorded_by, "pk", None)
    outcomes = []
    for row, enrollment in zip(rows, enrollments, strict=True):
        current = stored.get(enrollment.pk)
        if current is None:
            attendance = Attendance(
                enrollment=enrollment,
                session=session,
                status=row.status,
                note=row.note or "",
                recorded_by=recorded_by,
                recorded_at=now,
                is_demo=is_demo,
            )
            attendance._history_user = recorded_by
            outcomes.append(AttendanceOutcome(row, AttendanceResult.CREATED, attendance))
            continue
        current.enrollment, current.session = enrollment, session
        note = current.note if row.note is None else row.note
        identical = current.status == row.status and current.note == note
        # A repeat of one's own save (the reply to the first was lost, the client sends it again
        # with the version it had then) already holds: success before the stale check, which is
        # only for someone else's change.
        if identical and current.recorded_by_id == recorder:
            result = AttendanceResult.UNCHANGED
        elif row.expected_version is not None and row.expected_version != current.version:
            result = AttendanceResult.CONFLICT
        elif identical:
            result = AttendanceResult.UNCHANGED
        else:
            current.status, current.note = row.status, note
            current.recorded_by, current.recorded_at = recorded_by, now
            current.version += 1
            current.updated_at = now  # a bulk update skips auto_now; the API's sync reads this
            current._history_user = recorded_by
            result = AttendanceResult.CHANGED
        outcomes.append(AttendanceOutcome(row, result, current))
    return outcomes


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
    """One row through attendance_record_many, for callers with one row (the admin's form, tests).

    Returns (attendance, changed). Raises the row's own ValidationError (keyed by field) or
    StaleAttendanceError, as attendance_record_many decides.
    """
    row = AttendanceRow(status=status, enrollment=enrollment, note=note, expected_version=expected_version)
    try:
        [outcome] = attendance_record_many(
            session=session, rows=[row], recorded_by=recorded_by, is_demo=is_demo
        )
    except AttendanceRowsInvalid as invalid:
        raise invalid.row_errors[0] from None
    return outcome.attendance, outcome.changed
