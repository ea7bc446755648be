"""Report exports of any size: what runs in the web request, and what a worker writes to a file.

A request does at most a few seconds of export work. CSV streams (the attendance rows from
`COPY` on PostgreSQL, or from a chunked cursor), at constant memory. An XLSX of more than
PCP_EXPORT_BACKGROUND_ROWS rows is not built in the request: an ExportJob is queued through the
outbox, and a worker on the `exports` queue reads the rows in chunks inside one transaction (one
snapshot: the file is consistent), writes them into PCP_EXPORT_DIR and reports its progress
every few thousand rows. The attendance XLSX on PostgreSQL has its rows' XML written by the
server inside one COPY (exports.copy_xlsx_rows); other workbooks go through openpyxl's
write-only mode. The exports page follows it
and offers the download to its owner (and to UNIDO officers and the superuser, who may read every
report) until PCP_EXPORT_KEEP_HOURS have passed; beat's cleanup then removes the file and row.

A PDF is refused above PCP_PDF_MAX_PAGES pages, with links to the same selection as CSV and XLSX.
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from participants.models import ExportJob
from participants.reports import exports, tables
from participants.reports import figures as fig
from participants.reports.forms import ReportFilterForm, error_messages
from participants.series import all_series_figures
from pcp_portal import outbox, roles
from pcp_portal.disk import ShortOfSpace, ensure_free_space

logger = logging.getLogger(__name__)

RUN_TASK = "participants.reports.tasks.run_export"
# The densest report table (the sessions report) fits about this many rows on an A4 page.
PDF_ROWS_PER_PAGE = 15
# Rows between two progress reports, and the longest silence between two (a slow query).
REPORT_EVERY_ROWS = 5000
REPORT_EVERY_SECONDS = 2.0
CHUNK_SIZE = 5000


def pdf_max_rows() -> int:
    return settings.PCP_PDF_MAX_PAGES * PDF_ROWS_PER_PAGE


def export_dir() -> Path:
    return Path(settings.PCP_EXPORT_DIR)


@dataclass
class Source:
    """What an export writes: a title, the columns and the rows (a list, or a chunked iterator)."""

    title: str
    columns: list[tables.Column]
    rows: object
    count: int
    # The XLSX sheet's rows as XML bytes written by PostgreSQL (one line a row), where it can.
    rows_xml: Callable[[], Iterator[bytes]] | None = None


def table_for(report: str, filters: fig.ReportFilters, *, course=None, contact: bool) -> tables.Table:
    """The report's table, as its page shows it (a fixed number of queries)."""
    if report == "series":
        # Series completion counts whole series: the report filters do not narrow it.
        return tables.series_completion_table(all_series_figures())
    if report == "course":
        return tables.course_matrix(course, filters, contact=contact)
    return {
        "programme": tables.programme_table,
        "ministries": tables.ministry_table,
        "sessions": tables.session_table,
    }[report](filters)


def attendance_count(filters: fig.ReportFilters) -> int:
    """Rows of the attendance export (one COUNT), to choose between the request and a worker."""
    return tables.attendance_selection(filters).order_by().count()


def export_source(report: str, filters: fig.ReportFilters, *, course=None, contact: bool) -> Source:
    if report == "attendance":
        return Source(
            title=_("Attendance"),
            columns=tables.attendance_columns(contact=contact),
            rows=tables.attendance_rows(filters, contact=contact, chunk_size=CHUNK_SIZE),
            count=attendance_count(filters),
            rows_xml=(
                (lambda: exports.copy_xlsx_rows(filters, contact=contact))
                if connection.vendor == "postgresql"
                else None
            ),
        )
    table = table_for(report, filters, course=course, contact=contact)
    rows = table.all_rows()
    return Source(title=table.title, columns=table.columns, rows=rows, count=len(rows))


# --- starting, following and downloading a job ---------------------------------------------------


def export_start(
    *, user, report: str, fmt: str, query: dict, contact: bool, file_name: str, rows: int = 0
) -> ExportJob:
    """Queue an export job, or return the same person's identical job still waiting or running
    (a double click, a reload of the export link): one file is written, not two."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        same = (
            ExportJob.objects.select_for_update()
            .filter(
                user=user,
                report=report,
                format=fmt,
                filters=query,
                contact=contact,
                language=language,
                state__in=(ExportJob.State.QUEUED, ExportJob.State.RUNNING),
            )
            .first()
        )
        if same is not None:
            return same
        now = timezone.now()
        job = ExportJob.objects.create(
            user=user,
            report=report,
            format=fmt,
            filters=query,
            contact=contact,
            language=language,
            file_name=file_name,
            rows_total=rows,
            created_at=now,
            updated_at=now,
            expires_at=now + datetime.timedelta(hours=settings.PCP_EXPORT_KEEP_HOURS),
        )
        outbox.enqueue(RUN_TASK, job.pk)
    return job


def may_download(user, job: ExportJob) -> bool:
    """Its owner; UNIDO officers and the superuser, who read every report (contact details only
    when their role may see them)."""
    if job.user_id == user.pk:
        return True
    if not (user.is_superuser or roles.UNIDO_OFFICER in roles.user_roles(user)):
        return False
    return not job.contact or roles.can_see_contact_details(user)


def file_path(job: ExportJob) -> Path | None:
    """The finished file, or None when it is not (or no longer) there."""
    if job.state != ExportJob.State.DONE or not job.path:
        return None
    path = export_dir() / job.path
    return path if path.is_file() else None


def _duration(seconds: float) -> str:
    if seconds < 60:
        n = max(1, round(seconds))
        return ngettext("about %(n)s second", "about %(n)s seconds", n) % {"n": n}
    minutes = round(seconds / 60)
    return ngettext("about %(n)s minute", "about %(n)s minutes", minutes) % {"n": minutes}


def snapshot(job: ExportJob) -> dict:
    """What the progress bar shows: the state in words, rows written of total, an estimate."""
    percent = None
    if job.state == ExportJob.State.DONE:
        percent = 100
    elif job.state == ExportJob.State.RUNNING and job.rows_total:
        percent = min(100, round(100 * job.rows_done / job.rows_total))
    estimate = ""
    if job.state == ExportJob.State.RUNNING and job.started_at and 0 < job.rows_done < job.rows_total:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        estimate = _("%(time)s left") % {
            "time": _duration(elapsed / job.rows_done * (job.rows_total - job.rows_done))
        }
    return {
        "id": job.pk,
        "state": job.state,
        "state_label": str(job.get_state_display()),
        "working": job.is_working,
        "done": job.rows_done,
        "total": job.rows_total,
        "percent": percent,
        "rows_label": (
            _("%(done)s of %(total)s rows") % {"done": f"{job.rows_done:,}", "total": f"{job.rows_total:,}"}
            if job.rows_total
            else ""
        ),
        "estimate": estimate,
        "reason": job.reason if job.state == ExportJob.State.FAILED else "",
    }


# --- the worker's side ---------------------------------------------------------------------------


class _Progress:
    """Reports rows written every few thousand rows or seconds. The rows are read inside one
    transaction, where an UPDATE of the job would stay invisible until the end: on PostgreSQL the
    reports go through a second connection of their own (autocommit). SQLite holds no snapshot
    open across the chunked read, so there the ordinary connection reports."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.done = self.total = 0
        self._reported_rows = 0
        self._reported_at = time.monotonic()
        self._side = None

    def start(self, total: int) -> None:
        self.total = total
        self.report()

    def advance(self, rows):
        for row in rows:
            yield row
            self.done += 1
            self._report_when_due()

    def advance_lines(self, chunks):
        """Pass chunks of bytes holding one row per line through, counting the rows."""
        for chunk in chunks:
            yield chunk
            self.done += chunk.count(b"\n")
            self._report_when_due()

    def _report_when_due(self) -> None:
        if (
            self.done - self._reported_rows >= REPORT_EVERY_ROWS
            or time.monotonic() - self._reported_at >= REPORT_EVERY_SECONDS
        ):
            self.report()

    def report(self) -> None:
        self._reported_rows, self._reported_at = self.done, time.monotonic()
        now = timezone.now()
        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            ExportJob.objects.filter(pk=self.job_id).update(
                rows_done=self.done, rows_total=self.total, updated_at=now
            )
            return
        if self._side is None:
            # A connection of our own (not from `connections`, which hands back this thread's).
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
            self._side.settings_dict = dict(connection.settings_dict)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ExportJob._meta.db_table} SET rows_done = %s, rows_total = %s, updated_at = %s "
                "WHERE id = %s",
                [self.done, self.total, now, self.job_id],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def _claim(job_id: int) -> bool:
    """Take a queued job (or one whose worker died, silent past the stall time): a conditional
    UPDATE, so a task delivered twice writes the file once."""
    now = timezone.now()
    stalled = now - datetime.timedelta(seconds=settings.PCP_EXPORT_STALL_SECONDS)
    claimable = Q(state=ExportJob.State.QUEUED) | Q(state=ExportJob.State.RUNNING, updated_at__lt=stalled)
    claimed = ExportJob.objects.filter(claimable, pk=job_id).update(
        state=ExportJob.State.RUNNING, started_at=now, updated_at=now, rows_done=0, reason=""
    )
    return claimed == 1


def _fail(job_id: int, reason: str) -> None:
    now = timezone.now()
    ExportJob.objects.filter(pk=job_id).update(
        state=ExportJob.State.FAILED,
        reason=reason,
        finished_at=now,
        updated_at=now,
        expires_at=now + datetime.timedelta(hours=settings.PCP_EXPORT_KEEP_HOURS),
    )


def _write(job: ExportJob, source: Source, output, progress: _Progress) -> None:
    if job.format == "xlsx" and source.rows_xml is not None:
        chunks = source.rows_xml()
        try:
            rows_xml = progress.advance_lines(chunks)
            exports.xlsx_write_rows_xml(output, source.title, source.columns, rows_xml, rows=source.count)
        finally:
            # On every path, COPY's thread is stopped before the transaction it reads in ends.
            chunks.close()
        return
    rows = progress.advance(source.rows)
    if job.format == "xlsx":
        exports.xlsx_write(output, source.title, source.columns, rows)
    else:
        for line in exports.csv_lines([column.label for column in source.columns], rows):
            output.write(line.encode())


def export_run(job_id: int) -> None:
    """Write one queued job's file (the task's body). Any failure is kept on the job, in the
    requester's language, for the exports page to say why."""
    if not _claim(job_id):
        return
    job = ExportJob.objects.get(pk=job_id)
    with translation.override(job.language):
        form = ReportFilterForm(job.filters)
        if not form.is_valid():
            _fail(job.pk, " ".join(error_messages(form)))
            return
        directory = export_dir()
        stored = f"{job.pk}-{secrets.token_hex(8)}.{job.format}"
        partial = directory / f"{stored}.part"
        progress = _Progress(job.pk)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            ensure_free_space(str(directory))
            # One transaction: the count and the rows come from one snapshot of the record.
            with transaction.atomic():
                source = export_source(
                    job.report, form.filters(), course=form.cleaned_data.get("course"), contact=job.contact
                )
                progress.start(source.count)
                with partial.open("wb") as output:
                    _write(job, source, output, progress)
            os.replace(partial, directory / stored)
        except ShortOfSpace as error:
            partial.unlink(missing_ok=True)
            _fail(job.pk, error.message)
            return
        except Exception as error:
            partial.unlink(missing_ok=True)
            logger.exception("export %s failed", job.pk)
            _fail(
                job.pk,
                _(
                    "The export stopped on an unexpected error (%(error)s). Start it again; "
                    "if it fails again, tell the portal's administrator."
                )
                % {"error": error.__class__.__name__},
            )
            return
        finally:
            progress.close()
        now = timezone.now()
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.DONE,
            path=stored,
            size=(directory / stored).stat().st_size,
            rows_done=progress.done,
            rows_total=max(progress.done, source.count),
            finished_at=now,
            updated_at=now,
            expires_at=now + datetime.timedelta(hours=settings.PCP_EXPORT_KEEP_HOURS),
        )


def remove_expired(now=None) -> int:
    """Delete the files and rows of jobs past their time, mark jobs whose worker died as failed,
    and remove stray files (a worker killed mid-write leaves a `.part`). Returns rows deleted."""
    now = now or timezone.now()
    stalled = now - datetime.timedelta(seconds=settings.PCP_EXPORT_STALL_SECONDS)
    dead = ExportJob.objects.filter(state=ExportJob.State.RUNNING, updated_at__lt=stalled)
    for job_id, language in dead.values_list("pk", "language"):
        with translation.override(language):
            _fail(
                job_id,
                _("The worker writing this export stopped before it finished. Start the export again."),
            )
    expired = ExportJob.objects.filter(expires_at__lte=now)
    directory = export_dir()
    for path in expired.exclude(path="").values_list("path", flat=True):
        (directory / path).unlink(missing_ok=True)
    deleted, _by_model = expired.delete()
    if directory.is_dir():
        kept = set(ExportJob.objects.exclude(path="").values_list("path", flat=True))
        keep_seconds = settings.PCP_EXPORT_KEEP_HOURS * 3600
        for path in directory.iterdir():
            if path.name in kept or not path.is_file():
                continue
            if path.stat().st_mtime < now.timestamp() - keep_seconds:
                path.unlink(missing_ok=True)
    return deleted
