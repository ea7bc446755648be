"""CSV (streamed), XLSX (openpyxl write-only) and PDF (WeasyPrint) renderings of the report tables.

Every text cell of a CSV or XLSX goes through pcp_portal.spreadsheets.safe_cell (no formulas).
The attendance rows export on PostgreSQL streams from `COPY (…) TO STDOUT` itself, with the
formula neutralisation written in SQL (the same rule as safe_cell, tested against it), so a
million rows leave in about the time PostgreSQL takes to write them, and memory stays flat.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import logging
import queue
import re
import tempfile
import threading
import warnings

from django.db import connection
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Session
from participants.models import Attendance, Enrollment, Official
from participants.reports import figures as fig
from participants.reports.tables import DATE, DATETIME, INT, SHARE, Column, Table, attendance_columns
from pcp_portal.disk import ensure_free_space
from pcp_portal.spreadsheets import FORMULA_TRIGGERS, safe_cell, safe_row

logger = logging.getLogger(__name__)

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class BadFileName(ValueError):
    pass


def file_name(report: str, fmt: str, filters: fig.ReportFilters, *, requested: str | None = None) -> str:
    """`pcp-<report>[-course-N][-ministry-N][-from-…][-to-…]-<when>.<fmt>`, or a checked name given."""
    if requested:
        if not SAFE_NAME.match(requested) or ".." in requested:
            raise BadFileName(
                _(
                    "A file name may use letters, digits, “.”, “_” and “-” only (no folders), "
                    "up to 100 characters."
                )
            )
        stem = requested.removesuffix(f".{fmt}")
        return f"{stem}.{fmt}"
    parts = ["pcp", report]
    if filters.course_id:
        parts.append(f"course-{filters.course_id}")
    if filters.ministry_id:
        parts.append(f"ministry-{filters.ministry_id}")
    if filters.date_from:
        parts.append(f"from-{filters.date_from:%Y%m%d}")
    if filters.date_to:
        parts.append(f"to-{filters.date_to:%Y%m%d}")
    parts.append(timezone.localtime().strftime("%Y%m%d-%H%M"))
    return "-".join(parts) + f".{fmt}"


def _disposition(response, name: str):
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- CSV ----------------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def _csv_value(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if value is None:
        return ""
    return value


def csv_lines(headers: list[str], rows):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(safe_row(headers))  # BOM: Excel then reads the Khmer as UTF-8
    for row in rows:
        yield writer.writerow(safe_row([_csv_value(value) for value in row]))


def csv_response(name: str, headers: list[str], rows) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(headers, rows), content_type=FORMATS["csv"])
    return _disposition(response, name)


def _sql_safe(expression: str) -> str:
    """SQL twin of safe_cell for a text expression: a leading formula character gets an apostrophe."""
    triggers = ", ".join(
        {"\t": "chr(9)", "\r": "chr(13)"}.get(c, f"'{c}'") for c in FORMULA_TRIGGERS if c != "\x00"
    )
    return f"CASE WHEN left({expression}, 1) IN ({triggers}) THEN '''' || {expression} ELSE {expression} END"


def attendance_copy_sql(filters: fig.ReportFilters, *, contact: bool, now=None) -> tuple[str, tuple]:
    """The attendance rows as one SELECT for COPY, with the same columns and cells as the Python path."""
    held_sql, held_params = fig.held_sessions(filters, now=now).values("id").query.sql_with_params()
    enrol_sql, enrol_params = fig.active_enrolments(filters).values("id").query.sql_with_params()
    q = connection.ops.quote_name
    tz = timezone.get_current_timezone_name()
    contact_sql = f", {_sql_safe('o.email')}, {_sql_safe('o.phone')}" if contact else ""
    sql = f"""
    SELECT c.number, {_sql_safe("c.title")}, {_sql_safe("s.title")},
           to_char(s.starts_at AT TIME ZONE '{tz}', 'YYYY-MM-DD HH24:MI'),
           {_sql_safe("o.family_name")}, {_sql_safe("o.given_name")}, {_sql_safe("o.name_km")}, o.sex,
           {_sql_safe("e.ministry_name_en")}, {_sql_safe("e.ministry_acronym")}, a.status{contact_sql}
    FROM {q(Attendance._meta.db_table)} a
    INNER JOIN {q(Session._meta.db_table)} s ON s.id = a.session_id
    INNER JOIN {q(Course._meta.db_table)} c ON c.id = s.course_id
    INNER JOIN {q(Enrollment._meta.db_table)} e ON e.id = a.enrollment_id
    INNER JOIN {q(Official._meta.db_table)} o ON o.id = e.official_id
    WHERE a.session_id IN ({held_sql}) AND a.enrollment_id IN ({enrol_sql})
    ORDER BY a.id"""
    return sql, (*held_params, *enrol_params)


def copy_csv_chunks(filters: fig.ReportFilters, *, contact: bool, now=None, batch_bytes: int = 256 * 1024):
    """Yield the attendance CSV (header first) straight from PostgreSQL's COPY, in ~256 KB chunks.

    COPY pushes its output into a file object; a thread runs it into a small bounded queue and
    this generator pulls from it, so at most a few chunks are ever in memory.
    """
    headers = [column.label for column in attendance_columns(contact=contact)]
    sql, params = attendance_copy_sql(filters, contact=contact, now=now)
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
    copy = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
    chunks: queue.Queue = queue.Queue(maxsize=8)
    done = object()
    cancelled = threading.Event()

    class Sink:
        def __init__(self):
            self.parts, self.size = [], 0

        def write(self, data):
            if cancelled.is_set():
                raise BrokenPipeError("the download was abandoned")
            self.parts.append(data)
            self.size += len(data)
            if self.size >= batch_bytes:
                self.flush()

        def flush(self):
            if self.parts:
                chunks.put(b"".join(part.encode() if isinstance(part, str) else part for part in self.parts))
                self.parts, self.size = [], 0

    def run():
        sink = Sink()
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(copy, sink)
            sink.flush()
            chunks.put(done)
        except Exception as error:  # handed to the consumer, which raises it
            chunks.put(error)

    writer = csv.writer(_Echo())
    yield ("\ufeff" + writer.writerow(safe_row(headers))).encode()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is done:
                break
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        # A client that goes away mid-download: stop COPY and let the thread finish.
        cancelled.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        thread.join(timeout=5)


# --- XLSX ---------------------------------------------------------------------------------------

_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


_FORMATS = {SHARE: "0.0%", DATETIME: "yyyy-mm-dd hh:mm", DATE: "yyyy-mm-dd"}


def _xlsx_cell(worksheet, value, column: Column):
    """A text, a number or an empty cell as a plain value (openpyxl types it; a styled cell costs
    several times as much, which a million rows feel); shares and dates with their format."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        return safe_cell(_ILLEGAL_XML.sub("", value))
    number_format = _FORMATS.get(column.kind)
    if value is None or number_format is None:
        return value
    cell = WriteOnlyCell(worksheet, value=value)
    cell.number_format = number_format
    return cell


def _discard_sheet_files(workbook) -> None:
    """Remove the temporary files openpyxl's write-only sheets stream their rows into (it would
    otherwise leave them until the process exits)."""
    for worksheet in workbook.worksheets:
        writer = getattr(worksheet, "_writer", None)
        if writer is not None and isinstance(writer.out, str):
            with contextlib.suppress(OSError, ValueError):
                writer.close()
            with contextlib.suppress(OSError, ValueError):
                writer.cleanup()


def xlsx_write(output, title: str, columns: list[Column], rows) -> None:
    """Write the workbook into the binary file `output`; write-only mode keeps memory bounded
    (openpyxl streams the rows to a temporary file of its own, removed on every path)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    try:
        worksheet = workbook.create_sheet(title=re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or "Report")
        worksheet.freeze_panes = "B2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(worksheet, value=safe_cell(_ILLEGAL_XML.sub("", column.label)))
            cell.font = Font(bold=True)
            header.append(cell)
        worksheet.append(header)
        for row in rows:
            worksheet.append(
                [_xlsx_cell(worksheet, value, column) for value, column in zip(row, columns, strict=True)]
            )
        workbook.save(output)
    except BaseException:
        _discard_sheet_files(workbook)
        raise


def xlsx_file(title: str, columns: list[Column], rows):
    """A temporary file holding the workbook.

    Both the workbook and openpyxl's row files go to the temp directory: refuse up front when the
    disk is nearly full (507 with a message, pcp_portal.degrade), and leave no file behind on
    any path. The output has no name on disk (TemporaryFile): closing it frees its space.
    """
    ensure_free_space(tempfile.gettempdir())
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    try:
        xlsx_write(output, title, columns, rows)
        output.seek(0)
    except BaseException:
        output.close()
        raise
    return output


def xlsx_response(name: str, title: str, columns: list[Column], rows) -> FileResponse:
    return FileResponse(
        xlsx_file(title, columns, rows), as_attachment=True, filename=name, content_type=FORMATS["xlsx"]
    )


# --- PDF ----------------------------------------------------------------------------------------


def _pdf_value(value, column: Column) -> str:
    if value is None:
        return "–"
    if column.kind == SHARE:
        return f"{value * 100:.1f} %"
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def render_pdf(template: str, context: dict) -> bytes:
    """The PDF of `template`. A library's warning while rendering (WeasyPrint's about a missing
    system library such as HarfBuzz-Subset, a dependency's deprecation) is logged, never raised:
    whatever warning filters the process runs with, a report is not refused over a warning."""
    html = render_to_string(template, context)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from weasyprint import HTML

        pdf = HTML(string=html).write_pdf()
    for warning in caught:
        logger.warning("PDF rendering: %s: %s", warning.category.__name__, warning.message)
    return pdf


def table_pdf(table: Table, filters: fig.ReportFilters, *, filter_labels: list[str]) -> bytes:
    rows = [
        [_pdf_value(value, column) for value, column in zip(row, table.columns, strict=True)]
        for row in table.all_rows()
    ]
    return render_pdf(
        "reports/pdf/table.html",
        {
            "table": table,
            "rows": rows,
            "numeric": [column.kind in (INT, SHARE) for column in table.columns],
            "filter_labels": filter_labels,
            "generated_at": timezone.localtime(),
            "definitions": fig.definition_items(),
            "wide": len(table.columns) > 12,
        },
    )


def pdf_response(name: str, content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type=FORMATS["pdf"])
    return _disposition(response, name)
