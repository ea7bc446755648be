"""Confirming an import: exactly the previewed plan, in one transaction, or nothing at all.

Each row is written through participants.services, so every created or changed row gets its
history entry with the importing user. If anything differs from what the preview read (an
official's field changed, an e-mail was taken, an attendance row moved on), the whole import
is rolled back and the batch is marked failed with the reason.

A large import is confirmed by `queue_apply`: the batch is claimed (previewed → applying, one
conditional change, so a second confirmation is a no-op) and the apply is queued through the
transactional outbox; the worker's task runs `apply_import` on the claimed batch. The apply is
still one transaction: a worker killed half-way writes nothing, the batch stays "applying", and
the task delivered again (acks_late) applies it once.
"""

from __future__ import annotations

import contextlib
import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Session
from ministries.models import Ministry
from participants import services
from participants.imports.plan import CREATE, DECIDE, ERROR, SKIP, UPDATE
from participants.models import ImportBatch, Official
from pcp_portal import outbox

APPLY_TASK = "participants.imports.tasks.apply_batch"


class ImportRefused(Exception):
    """The batch cannot be applied (errors, undecided rows, applied already, or stale)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


NEW = "new"


def undecided_rows(batch: ImportBatch, decisions: dict[int, str]) -> list[int]:
    return [
        row["line"]
        for index, row in enumerate(batch.rows)
        if row["action"] == DECIDE and not _valid_decision(row, decisions.get(index))
    ]


def _valid_decision(row: dict, choice: str | None) -> bool:
    if choice in (SKIP,):
        return True
    if choice == NEW:
        return bool(row.get("create"))
    return choice is not None and any(str(c["id"]) == choice for c in row.get("candidates", []))


def _resolve_decision(row: dict, choice: str) -> dict:
    """The row as if the preview had been certain: the chosen candidate, a new official, or skip."""
    if choice == SKIP:
        return {**row, "action": SKIP, "reason": _("Skipped by the person who confirmed.")}
    if choice == NEW:
        return {**row, "action": CREATE, "official": None}
    candidate = next(c for c in row["candidates"] if str(c["id"]) == choice)
    resolved = {**row, "official": candidate["id"], "label": candidate["label"], "create": None}
    if "attendance" in candidate or candidate.get("action") in (CREATE, UPDATE, SKIP):
        resolved.update(
            action=candidate.get("action", SKIP),
            attendance=candidate.get("attendance"),
            changes=candidate.get("changes", {}),
        )
    elif "changes" in candidate:
        resolved.update(action=UPDATE if candidate["changes"] else SKIP, changes=candidate["changes"])
    else:
        resolved.update(action=CREATE)  # enrolments: enrol the chosen official
    return resolved


def _refuse_unready(batch: ImportBatch, decisions: dict[int, str]) -> None:
    errors = [row["line"] for row in batch.rows if row["action"] == ERROR]
    if errors:
        raise ImportRefused(
            _(
                "Nothing was imported: %(count)s row(s) are in error (lines %(lines)s). Correct the "
                "file and upload it again."
            )
            % {"count": len(errors), "lines": ", ".join(map(str, errors[:20]))}
        )
    waiting = undecided_rows(batch, decisions)
    if waiting:
        raise ImportRefused(
            _("Choose who is meant on lines %(lines)s before confirming.")
            % {"lines": ", ".join(map(str, waiting[:20]))}
        )


def queue_apply(*, batch: ImportBatch, user, decisions: dict[int, str] | None = None) -> ImportBatch:
    """Confirm a batch to be applied by a worker. Refused as apply_import refuses (rows in error or
    undecided); a batch already queued or applied is returned as it is (confirming twice is a no-op)."""
    decisions = decisions or {}
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status in (ImportBatch.Status.APPLYING, ImportBatch.Status.APPLIED):
            return locked
        if locked.status != ImportBatch.Status.PREVIEWED:
            raise ImportRefused(
                _("This import is already %(status)s; upload the file again to import it.")
                % {"status": locked.get_status_display().lower()}
            )
        _refuse_unready(locked, decisions)
        locked.status = ImportBatch.Status.APPLYING
        locked.decisions = {str(index): choice for index, choice in decisions.items()}
        locked.applied_by = user
        locked.save(update_fields=["status", "decisions", "applied_by"])
        outbox.enqueue(APPLY_TASK, locked.pk)
    return locked


def apply_queued(batch_id: int) -> None:
    """The worker's side of queue_apply: apply a claimed batch once; anything else is left alone
    (already applied, failed or gone), so a task delivered twice does the work once."""
    batch = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.APPLYING).first()
    if batch is None:
        return
    decisions = {int(index): choice for index, choice in batch.decisions.items()}
    # A refusal is recorded on the batch (failed, with the reason) for the person who confirmed it.
    with contextlib.suppress(ImportRefused):
        apply_import(batch=batch, user=batch.applied_by, decisions=decisions, claimed=True)


def apply_import(
    *, batch: ImportBatch, user, decisions: dict[int, str] | None = None, claimed: bool = False
) -> ImportBatch:
    """`claimed`: the batch was claimed by queue_apply and is applied by the worker."""
    decisions = decisions or {}
    expected = ImportBatch.Status.APPLYING if claimed else ImportBatch.Status.PREVIEWED
    try:
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status != expected:
                raise ImportRefused(
                    _("This import is already %(status)s; upload the file again to import it.")
                    % {"status": locked.get_status_display().lower()}
                )
            _refuse_unready(locked, decisions)
            rows = [
                _resolve_decision(row, decisions[index]) if row["action"] == DECIDE else row
                for index, row in enumerate(locked.rows)
            ]
            done = _write(locked, rows, user)
            locked.rows = [
                {**row, "decided": row["action"]} if original["action"] == DECIDE else row
                for row, original in zip(rows, locked.rows, strict=True)
            ]
            locked.status = ImportBatch.Status.APPLIED
            locked.applied_by = user
            locked.applied_at = timezone.now()
            locked.counts = {**locked.counts, "applied": done}
            locked.save()
            return locked
    except ImportRefused:
        raise
    except ValidationError as error:
        message = _("Nothing was imported: %(reason)s Upload the file again to see a new preview.") % {
            "reason": " ".join(error.messages)
        }
    except _Stale as error:
        message = _("Nothing was imported: %(reason)s Upload the file again to see a new preview.") % {
            "reason": error.message
        }
    except services.StaleAttendanceError:
        message = _(
            "Nothing was imported: attendance was recorded by someone else since the preview. "
            "Upload the file again to see a new preview."
        )
    ImportBatch.objects.filter(pk=batch.pk, status=expected).update(
        status=ImportBatch.Status.FAILED, message=message
    )
    raise ImportRefused(message)


class _Stale(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _write(batch: ImportBatch, rows: list[dict], user) -> dict[str, int]:
    done = {"created": 0, "updated": 0, "skipped": 0}
    ministries = {m.pk: m for m in Ministry.objects.all()}
    for row in rows:
        action = row["action"]
        if action == SKIP:
            done["skipped"] += 1
            continue
        if batch.kind == "officials":
            _write_official(row, ministries, user)
        elif batch.kind != "attendance":
            _write_enrolment(row, batch, ministries, user)
        done["created" if action == CREATE else "updated"] += 1
    if batch.kind == "attendance":
        _write_attendance([row for row in rows if row["action"] != SKIP], batch, user)
    return done


def _line(row: dict) -> str:
    return _("Line %(line)s:") % {"line": row["line"]}


def _create_official(row: dict, ministries, user) -> Official:
    fields = dict(row["create"])
    fields["ministry"] = ministries[fields["ministry"]]
    try:
        return services.official_create(changed_by=user, **fields)
    except ValidationError as error:
        raise ValidationError(f"{_line(row)} {' '.join(error.messages)}") from None


def _write_official(row: dict, ministries, user) -> None:
    if row["action"] == CREATE:
        _create_official(row, ministries, user)
        return
    official = Official.objects.select_for_update().get(pk=row["official"])
    updates = {}
    for field, (old, new) in row["changes"].items():
        current = official.ministry_id if field == "ministry" else getattr(official, field)
        if current != old:
            raise _Stale(
                _("%(line)s %(official)s was changed since the preview (%(field)s).")
                % {"line": _line(row), "official": official, "field": field}
            )
        updates[field] = ministries[new] if field == "ministry" else new
    try:
        services.official_update(official=official, changed_by=user, **updates)
    except ValidationError as error:
        raise ValidationError(f"{_line(row)} {' '.join(error.messages)}") from None


def _write_enrolment(row: dict, batch: ImportBatch, ministries, user) -> None:
    if row.get("official"):
        official = Official.objects.get(pk=row["official"])
    else:
        official = _create_official(row, ministries, user)
    enrolled_on = datetime.date.fromisoformat(row["enrolled_on"]) if row.get("enrolled_on") else None
    try:
        services.enrollment_create(
            official=official, course=batch.course, enrolled_on=enrolled_on, changed_by=user
        )
    except ValidationError as error:
        raise ValidationError(f"{_line(row)} {' '.join(error.messages)}") from None


def _write_attendance(rows: list[dict], batch: ImportBatch, user) -> None:
    """The sheet's rows in one register write: all of them, or nothing if one is refused."""
    session = Session.objects.get(pk=batch.session_id)
    register = [
        services.AttendanceRow(
            enrollment=row["attendance"]["enrollment"],
            status=row["attendance"]["status"],
            note=row["attendance"]["note"] or None,
            expected_version=row["attendance"]["version"],
        )
        for row in rows
    ]
    try:
        services.attendance_record_many(session=session, rows=register, recorded_by=user)
    except services.AttendanceRowsInvalid as invalid:
        raise ValidationError(
            [
                f"{_line(rows[index])} {' '.join(error.messages)}"
                for index, error in sorted(invalid.row_errors.items())
            ]
        ) from None
