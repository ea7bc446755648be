"""Confirming an import: exactly the previewed plan, in one transaction, or nothing at all.

Each row is written through participants.services, so every created or changed row gets its
history entry with the importing user. If anything differs from what the preview read (an
official's field changed, an e-mail was taken, an attendance row moved on), the whole import
is rolled back and the batch is marked failed with the reason.

An import is confirmed by `queue_apply`: the batch is claimed (previewed → applying, one
conditional change, so a second confirmation is a no-op) and the apply is queued through the
transactional outbox; the worker's task runs `apply_import` on the claimed batch. The apply is
still one transaction: a worker killed half-way writes nothing, the batch stays "applying", and
the task delivered again (acks_late) applies it once.

The plan is read PLAN_BATCH rows at a time (plan.plan_chunks) and written a batch at a time, so
the worker's memory holds one batch of rows whatever the size of the file.
"""

from __future__ import annotations

import contextlib
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from courses.models import Session
from ministries.models import Ministry
from participants import services
from participants.imports import progress
from participants.imports.plan import (
    ACTIONS,
    CREATE,
    DECIDE,
    ERROR,
    PREVIEW_TASK,
    SESSION_KINDS,
    SKIP,
    UPDATE,
    plan_chunks,
)
from participants.imports.progress import Reporter
from participants.models import ImportBatch, ImportProgress, ImportRow, Official
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
        for chunk in plan_chunks(batch.pk, actions=[DECIDE])
        for index, row in chunk
        if not _valid_decision(row, decisions.get(index))
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
    in_error = ImportRow.objects.filter(batch=batch, action=ERROR)
    errors = list(in_error.order_by("index").values_list("line", flat=True)[:20])
    if errors:
        raise ImportRefused(
            _(
                "Nothing was imported: %(count)s row(s) are in error (lines %(lines)s). Correct the "
                "file and upload it again."
            )
            % {"count": in_error.count(), "lines": ", ".join(map(str, errors))}
        )
    waiting = undecided_rows(batch, decisions)
    if waiting:
        raise ImportRefused(
            _("Choose who is meant on lines %(lines)s before confirming.")
            % {"lines": ", ".join(map(str, waiting[:20]))}
        )


# Namespace of the advisory locks taken on a file's content (the first key of the two-key form).
CONTENT_LOCK = 0x1A9F


def _same_content(batch: ImportBatch):
    """Other batches of the same bytes imported the same way (same kind, course and session): the
    one file applied twice. The same list enrolled into another course is another import."""
    return ImportBatch.objects.filter(
        checksum=batch.checksum,
        kind=batch.kind,
        course_id=batch.course_id,
        session_id=batch.session_id,
        status__in=[ImportBatch.Status.APPLIED, ImportBatch.Status.APPLYING],
    ).exclude(pk=batch.pk)


def _already_imported(batch: ImportBatch, *, applying_too: bool) -> str:
    """Why this batch may not be applied: the same file applied (or, when asked, being applied)
    by another batch; "" when none is."""
    others = _same_content(batch)
    if not applying_too:
        others = others.filter(status=ImportBatch.Status.APPLIED)
    other = others.order_by("status", "-pk").first()  # "applied" before "applying"
    if other is None:
        return ""
    if other.status == ImportBatch.Status.APPLYING:
        return _(
            "Nothing was imported: the same file is being imported already (import #%(pk)s). Open that "
            "import to follow it; upload the file again only if it has changed."
        ) % {"pk": other.pk}
    return _(
        "Nothing was imported: the same file was already imported (import #%(pk)s, %(when)s). Open "
        "that import to see what it did; upload the file again only if it has changed."
    ) % {"pk": other.pk, "when": timezone.localtime(other.applied_at).strftime("%Y-%m-%d %H:%M")}


def _lock_content(batch: ImportBatch) -> None:
    """One apply of a file's content at a time, whichever upload of it is confirmed: the second
    waits here until the first commits, then finds it applied. Held to the transaction's end.
    SQLite has one writer at a time, which serialises the applies already."""
    if connection.vendor == "postgresql":
        key = int(batch.checksum[:8] or "0", 16) - 2**31  # a signed 32-bit int from the SHA-256
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CONTENT_LOCK, key])


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
        # Refused now rather than by the worker: the same file applied, or queued, by another upload.
        duplicate = _already_imported(locked, applying_too=True)
        if duplicate:
            raise ImportRefused(duplicate)
        locked.status = ImportBatch.Status.APPLYING
        locked.decisions = {str(index): choice for index, choice in decisions.items()}
        locked.applied_by = user
        # The worker says what happened in the language of whoever confirmed.
        locked.language = translation.get_language() or ""
        locked.save(update_fields=["status", "decisions", "applied_by", "language"])
        progress.ensure(locked)
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
    with (
        Reporter(batch_id) as reporter,
        translation.override(batch.language or None),
        contextlib.suppress(ImportRefused),
    ):
        apply_import(batch=batch, user=batch.applied_by, decisions=decisions, claimed=True, reporter=reporter)


def resume_stalled() -> int:
    """Queue again the batches a worker took and then lost (killed, its machine restarted): queued,
    previewing or applying, silent for PCP_IMPORT_STALL_SECONDS, and — for an apply — whose row
    nobody holds locked (a live apply holds it for its whole transaction, so SKIP LOCKED leaves
    it out). The tasks do their work once, so a batch only slow, not lost, is not harmed.
    Celery beat runs this every minute. Returns how many batches were queued again."""
    silent_since = timezone.now() - datetime.timedelta(seconds=settings.PCP_IMPORT_STALL_SECONDS)
    working = [ImportBatch.Status.QUEUED, ImportBatch.Status.PREVIEWING, ImportBatch.Status.APPLYING]
    with transaction.atomic():
        stalled = list(
            ImportBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=working, progress__updated_at__lt=silent_since)
            .values_list("pk", "status")
        )
        for pk, status in stalled:
            outbox.enqueue(APPLY_TASK if status == ImportBatch.Status.APPLYING else PREVIEW_TASK, pk)
        ImportProgress.objects.filter(batch_id__in=[pk for pk, _status in stalled]).update(
            updated_at=timezone.now()
        )
    return len(stalled)


def apply_import(
    *,
    batch: ImportBatch,
    user,
    decisions: dict[int, str] | None = None,
    claimed: bool = False,
    reporter: Reporter | None = None,
) -> ImportBatch:
    """`claimed`: the batch was claimed by queue_apply and is applied by the worker.

    The batch's row stays locked for the whole transaction: a second apply of the same batch (a
    confirmation repeated, a task redelivered) waits, then finds it applied and writes nothing."""
    decisions = decisions or {}
    expected = ImportBatch.Status.APPLYING if claimed else ImportBatch.Status.PREVIEWED
    try:
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if reporter:
                reporter.in_transaction = True
            if locked.status != expected:
                raise ImportRefused(
                    _("This import is already %(status)s; upload the file again to import it.")
                    % {"status": locked.get_status_display().lower()}
                )
            _refuse_unready(locked, decisions)
            _lock_content(locked)
            duplicate = _already_imported(locked, applying_too=False)
            if duplicate:
                raise _Duplicate(duplicate)
            done = _write(locked, decisions, user, reporter)
            _record_decisions(locked, decisions)
            changed = ["status", "applied_by", "applied_at", "counts"]
            locked.status = ImportBatch.Status.APPLIED
            locked.applied_by = user
            locked.applied_at = timezone.now()
            locked.counts = {**locked.counts, "applied": done}
            locked.save(update_fields=changed)
            return locked
    except ImportRefused:
        raise
    except ValidationError as error:
        message = _("Nothing was imported: %(reason)s Upload the file again to see a new preview.") % {
            "reason": " ".join(error.messages)
        }
    except _Duplicate as error:
        message = error.message
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


class _Duplicate(_Stale):
    """The same file was applied by another upload while this one waited for its turn."""


def _record_decisions(batch: ImportBatch, decisions: dict[int, str]) -> None:
    """The rows decided at confirmation keep the choice made (the page shows it): only they are
    rewritten, never the whole plan."""
    decided = list(ImportRow.objects.filter(batch=batch, action=DECIDE))
    for planned in decided:
        resolved = _resolve_decision(planned.plan, decisions[planned.index])
        planned.plan = {**resolved, "decided": resolved["action"]}
        planned.action = resolved["action"]
    ImportRow.objects.bulk_update(decided, ["plan", "action"], batch_size=services.BULK_BATCH_SIZE)


def _write(
    batch: ImportBatch, decisions: dict[int, str], user, reporter: Reporter | None = None
) -> dict[str, int]:
    """Every row of the plan, in bulk, one batch of the plan at a time: the officials to create,
    to update, the enrolments; one statement per thousand rows and one for their history rows."""
    total = sum(batch.counts.get(action, 0) for action in ACTIONS)
    done = {"created": 0, "updated": 0, "skipped": batch.counts.get(SKIP, 0)}
    if reporter:
        reporter.start(ImportProgress.Phase.APPLYING, total)
        reporter.advance(done["skipped"])
    on_batch = reporter.advance if reporter else None
    ministries = {m.pk: m for m in Ministry.objects.all()}
    register = []
    for chunk in plan_chunks(batch.pk, exclude=[SKIP, ERROR]):
        rows = [
            _resolve_decision(row, decisions[index]) if row["action"] == DECIDE else row
            for index, row in chunk
        ]
        written = [row for row in rows if row["action"] != SKIP]
        done["skipped"] += len(rows) - len(written)
        if reporter:
            reporter.advance(len(rows) - len(written))
        for row in written:
            done["created" if row["action"] == CREATE else "updated"] += 1
        if batch.kind in SESSION_KINDS:
            register.extend(written)  # a sign-in sheet is one register write, all or nothing
        else:
            _write_people(batch, written, ministries, user, on_batch)
    if batch.kind in SESSION_KINDS:
        _write_attendance(register, batch, user)
        if reporter:
            reporter.advance(len(register))
    return done


def _write_people(batch: ImportBatch, written: list[dict], ministries, user, on_batch) -> None:
    """One batch of the plan's rows of officials or enrolments (none skipped)."""
    if not written:
        return
    to_create = [row for row in written if row["action"] == CREATE and not row.get("official")]
    created = _create_officials(to_create, ministries, user, on_batch if batch.kind == "officials" else None)
    if batch.kind == "officials":
        _update_officials([row for row in written if row["action"] == UPDATE], ministries, user, on_batch)
        return
    known = {
        pk: services.Enrollee(pk, ministry_id, position)
        for pk, ministry_id, position in Official.objects.filter(
            pk__in=[row["official"] for row in written if row.get("official")]
        ).values_list("pk", "ministry_id", "position")
    }
    new_by_line = {row["line"]: enrollee for row, enrollee in zip(to_create, created, strict=True)}
    entries = [
        (
            known[row["official"]] if row.get("official") else new_by_line[row["line"]],
            datetime.date.fromisoformat(row["enrolled_on"]) if row.get("enrolled_on") else None,
        )
        for row in written
    ]
    try:
        services.enrollments_create_many(
            course=batch.course, entries=entries, changed_by=user, on_batch=on_batch
        )
    except services.RowsInvalid as invalid:
        raise ValidationError(
            [f"{_line(written[index])} {message}" for index, message in sorted(invalid.row_errors.items())]
        ) from None
    except IntegrityError:
        raise _Stale(
            _("an official of the file was enrolled in this course by someone else since the preview.")
        ) from None


def _line(row: dict) -> str:
    return _("Line %(line)s:") % {"line": row["line"]}


def _create_officials(rows: list[dict], ministries, user, on_batch) -> list[services.Enrollee]:
    """The new officials, BULK_BATCH_SIZE at a time (memory holds one batch of model instances, not
    the file); what enrolling them needs comes back. All in the caller's one transaction."""
    created = []
    for start in range(0, len(rows), services.BULK_BATCH_SIZE):
        chunk = rows[start : start + services.BULK_BATCH_SIZE]
        officials = [
            Official(**{**row["create"], "ministry": ministries[row["create"]["ministry"]]}) for row in chunk
        ]
        try:
            # The preview checked each row's values; the database checks the constraints again.
            services.officials_create_many(
                officials=officials, changed_by=user, on_batch=on_batch, checked=True
            )
        except services.RowsInvalid as invalid:
            raise ValidationError(
                [f"{_line(chunk[index])} {message}" for index, message in sorted(invalid.row_errors.items())]
            ) from None
        except IntegrityError:
            raise _Stale(
                _("an e-mail address of the file was given to another official since the preview.")
            ) from None
        created.extend(services.Enrollee(o.pk, o.ministry_id, o.position) for o in officials)
    return created


def _update_officials(rows: list[dict], ministries, user, on_batch) -> None:
    """The changes planned, on the officials as they are now (locked): refused as stale if a value
    the preview read has changed since."""
    if not rows:
        return
    current: dict[int, Official] = {}
    for start in range(0, len(rows), services.BULK_BATCH_SIZE):
        ids = [row["official"] for row in rows[start : start + services.BULK_BATCH_SIZE]]
        current.update((o.pk, o) for o in Official.objects.select_for_update().filter(pk__in=ids))
    fields: set[str] = set()
    officials = []
    for row in rows:
        official = current[row["official"]]
        for field, (old, new) in row["changes"].items():
            now = official.ministry_id if field == "ministry" else getattr(official, field)
            if now != old:
                raise _Stale(
                    _("%(line)s %(official)s was changed since the preview (%(field)s).")
                    % {"line": _line(row), "official": official, "field": field}
                )
            setattr(official, field, ministries[new] if field == "ministry" else new)
            fields.add(field)
        officials.append(official)
    try:
        services.officials_update_many(
            officials=officials, fields=sorted(fields), changed_by=user, on_batch=on_batch, checked=True
        )
    except services.RowsInvalid as invalid:
        raise ValidationError(
            [f"{_line(rows[index])} {message}" for index, message in sorted(invalid.row_errors.items())]
        ) from None
    except IntegrityError:
        raise _Stale(
            _("an e-mail address of the file was given to another official since the preview.")
        ) from None


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
