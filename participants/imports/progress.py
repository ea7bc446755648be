"""How far a worker is with an import, for the progress bar of the batch page.

A worker reports rows done every few hundred rows (`Reporter.advance`), never per row. Outside a
transaction the report is an ordinary UPDATE. Inside the apply's transaction it would stay
invisible until the commit, so on PostgreSQL the reporter writes through a second connection of
its own (autocommit), to ImportProgress — a table apart, since the apply holds the batch's row
locked. SQLite has one writer at a time: there the apply's own phase shows, not its row count.
"""

from __future__ import annotations

import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from participants.models import ImportBatch, ImportProgress

# Rows between two reports: a 50,000-row file costs 100 small UPDATEs.
REPORT_EVERY = 500

_UPDATE = (
    "UPDATE participants_importprogress SET phase = %s, done = %s, total = %s, started_at = %s, "
    "updated_at = %s WHERE batch_id = %s"
)


class Reporter:
    """Reports one batch's progress; `close()` (or the with-block) ends its second connection."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.phase = ImportProgress.Phase.QUEUED
        self.done = self.total = self._reported = 0
        self.started_at: datetime.datetime | None = None
        # Set by the apply while its transaction is open: reports then go through a second connection.
        self.in_transaction = False
        self._side = None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, phase: str, total: int) -> None:
        self.phase, self.total, self.done, self._reported = phase, total, 0, 0
        self.started_at = timezone.now()
        self._write()

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.done - self._reported >= REPORT_EVERY or self.done >= self.total:
            self._reported = self.done
            self._write()

    def _write(self) -> None:
        params = [self.phase, self.done, self.total, self.started_at, timezone.now(), self.batch_id]
        if not self.in_transaction:
            fields = {
                "phase": self.phase,
                "done": self.done,
                "total": self.total,
                "started_at": self.started_at,
            }
            # One statement a report: the row was made when the batch was queued.
            if not ImportProgress.objects.filter(batch_id=self.batch_id).update(
                **fields, updated_at=timezone.now()
            ):
                ImportProgress.objects.create(batch_id=self.batch_id, **fields)
            return
        if connection.vendor != "postgresql":
            return  # SQLite: the apply's transaction holds the only write lock
        if self._side is None:
            # A connection of our own (not from `connections`, which hands back this thread's).
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
            self._side.settings_dict = dict(connection.settings_dict)
        with self._side.cursor() as cursor:
            cursor.execute(_UPDATE, params)

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def ensure(batch: ImportBatch) -> None:
    """A progress row for a batch about to be queued (the apply's second connection only updates)."""
    ImportProgress.objects.update_or_create(
        batch=batch,
        defaults={"phase": ImportProgress.Phase.QUEUED, "done": 0, "total": 0, "started_at": None},
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return ngettext("about %(n)s second", "about %(n)s seconds", max(1, round(seconds))) % {
            "n": max(1, round(seconds))
        }
    minutes = round(seconds / 60)
    return ngettext("about %(n)s minute", "about %(n)s minutes", minutes) % {"n": minutes}


def snapshot(batch: ImportBatch) -> dict:
    """What the progress bar shows: the state in words, rows done of total, and an estimate."""
    progress = ImportProgress.objects.filter(batch=batch).first()
    state = {
        "status": batch.status,
        "status_label": str(batch.get_status_display()),
        "working": batch.is_working,
        "phase": "",
        "phase_label": "",
        "done": 0,
        "total": 0,
        "percent": None,
        "rows_label": "",
        "estimate": "",
        "message": batch.message if batch.status == ImportBatch.Status.FAILED else "",
    }
    if progress is None or not batch.is_working:
        return state
    state.update(phase=progress.phase, phase_label=str(progress.get_phase_display()))
    if progress.total:
        state.update(
            done=progress.done,
            total=progress.total,
            percent=round(100 * progress.done / progress.total),
            rows_label=_("%(done)s of %(total)s rows")
            % {"done": f"{progress.done:,}", "total": f"{progress.total:,}"},
        )
        if progress.started_at and 0 < progress.done < progress.total:
            elapsed = (timezone.now() - progress.started_at).total_seconds()
            remaining = elapsed / progress.done * (progress.total - progress.done)
            state["estimate"] = _("%(time)s left") % {"time": _duration(remaining)}
    return state
