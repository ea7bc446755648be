"""CSV (streamed), XLSX (openpyxl write-only) and PDF (WeasyPrint) renderings of the report tables.

Every text cell of a CSV or XLSX goes through pcp_portal.spreadsheets.safe_cell (no formulas).
The attendance rows on PostgreSQL stream from `COPY (…) TO STDOUT` itself, with the formula
neutralisation written in SQL (the same rule as safe_cell, tested against it): as CSV, and for
the background XLSX as the sheet's row XML, which Python only zips. A million rows then leave in
a small multiple of the time PostgreSQL takes to write them, and memory stays flat."""

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
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from django.db import connection
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Session
from participants.models import Attendance, Enrollment, Official
from participants.reports import figures as fig
from participants.reports.tables import DATE, DATETIME, INT, SHARE, TEXT, Column, Table, attendance_columns
from pcp_portal.disk import ensure_free_space
from pcp_portal.forms import page_language
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


@dataclass(frozen=True)
class _SqlColumn:
    """One column of the attendance rows as PostgreSQL computes it: its kind (INT, TEXT or
    DATETIME, as in tables.attendance_columns) and the SQL expression of its raw value."""

    kind: str
    expression: str


def _attendance_sql_columns(*, contact: bool) -> list[_SqlColumn]:
    """The attendance export's columns in SQL, in tables.attendance_columns' order: the one list
    both the COPY CSV and the server-written XLSX rows are derived from. In Khmer mode the titles
    and the ministry are the Khmer ones where stored, as tables.attendance_rows picks them."""

    def in_language(english: str, khmer: str) -> str:
        return f"COALESCE(NULLIF({khmer}, ''), {english})" if page_language() == "km" else english

    columns = [
        _SqlColumn(INT, "c.number"),
        _SqlColumn(TEXT, in_language("c.title", "c.title_km")),
        _SqlColumn(TEXT, in_language("s.title", "s.title_km")),
        _SqlColumn(DATETIME, "s.starts_at"),
        _SqlColumn(TEXT, "o.family_name"),
        _SqlColumn(TEXT, "o.given_name"),
        _SqlColumn(TEXT, "o.name_km"),
        _SqlColumn(TEXT, "o.sex"),
        _SqlColumn(TEXT, in_language("e.ministry_name_en", "e.ministry_name_km")),
        _SqlColumn(TEXT, "e.ministry_acronym"),
        _SqlColumn(TEXT, "a.status"),
    ]
    if contact:
        columns += [_SqlColumn(TEXT, "o.email"), _SqlColumn(TEXT, "o.phone")]
    return columns


def _attendance_select(cells: list[str], filters: fig.ReportFilters, *, now=None) -> tuple[str, tuple]:
    """SELECT `cells` over the attendance rows of the selection, in id order (as the Python path)."""
    held_sql, held_params = fig.held_sessions(filters, now=now).values("id").query.sql_with_params()
    enrol_sql, enrol_params = fig.active_enrolments(filters).values("id").query.sql_with_params()
    q = connection.ops.quote_name
    sql = f"""
    SELECT {", ".join(cells)}
    FROM {q(Attendance._meta.db_table)} a
    INNER JOIN {q(Session._meta.db_table)} s ON s.id = a.session_id
    INNER JOIN {q(Course._meta.db_table)} c ON c.id = s.course_id
    INNER JOIN {q(Enrollment._meta.db_table)} e ON e.id = a.enrollment_id
    INNER JOIN {q(Official._meta.db_table)} o ON o.id = e.official_id
    WHERE a.session_id IN ({held_sql}) AND a.enrollment_id IN ({enrol_sql})
    ORDER BY a.id"""
    return sql, (*held_params, *enrol_params)


def _local_time_zone() -> str:
    return timezone.get_current_timezone_name().replace("'", "")


def attendance_copy_sql(filters: fig.ReportFilters, *, contact: bool, now=None) -> tuple[str, tuple]:
    """The attendance rows as one SELECT for COPY, with the same columns and cells as the Python path."""
    tz = _local_time_zone()

    def csv_cell(column: _SqlColumn) -> str:
        if column.kind == DATETIME:
            return f"to_char({column.expression} AT TIME ZONE '{tz}', 'YYYY-MM-DD HH24:MI')"
        if column.kind == TEXT:
            return _sql_safe(column.expression)
        return column.expression

    return _attendance_select(
        [csv_cell(c) for c in _attendance_sql_columns(contact=contact)], filters, now=now
    )


def _copy_chunks(copy: str, *, batch_bytes: int = 256 * 1024):
    """Yield the output of the COPY … TO STDOUT statement `copy` in ~256 KB chunks of bytes.

    COPY pushes its output into a file object; a thread runs it into a small bounded queue and
    this generator pulls from it, so at most a few chunks are ever in memory.
    """
    connection.ensure_connection()
    raw = connection.connection
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
        # A consumer that goes away mid-way (a client gone, a full disk): stop COPY and let the
        # thread finish.
        cancelled.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        thread.join(timeout=5)


def _mogrified(sql: str, params: tuple) -> str:
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()


def copy_csv_chunks(filters: fig.ReportFilters, *, contact: bool, now=None, batch_bytes: int = 256 * 1024):
    """Yield the attendance CSV (header first) straight from PostgreSQL's COPY, in ~256 KB chunks."""
    headers = [column.label for column in attendance_columns(contact=contact)]
    query = _mogrified(*attendance_copy_sql(filters, contact=contact, now=now))
    writer = csv.writer(_Echo())
    yield ("\ufeff" + writer.writerow(safe_row(headers))).encode()
    yield from _copy_chunks(
        f"COPY ({query}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')", batch_bytes=batch_bytes
    )


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


# --- XLSX written by PostgreSQL ------------------------------------------------------------------
#
# An XLSX is a zip of a few small fixed XML parts and one sheet part holding every cell. For the
# attendance rows on PostgreSQL the server writes each row's <row>…</row> XML itself, inside one
# `COPY (…) TO STDOUT`, and Python only deflates those bytes into the zip: no Python object per
# cell, so a million rows take a few times what COPY takes, at constant memory. The cells are
# what openpyxl writes for the same rows (tested against it): texts formula-safe and as inline
# strings (never a formula: no cell here has an <f>), numbers as numbers, times as serial numbers
# in the portal's time zone with the same format; the same bold header, frozen pane and sheet name.

# Style indexes of _STYLES' cellXfs.
_BOLD, _STYLE_OF_KIND = 1, {DATETIME: 2, DATE: 3, SHARE: 4}
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/><numFmt numFmtId="166" formatCode="0.0%"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    '<Relationship Id="rId2" Target="styles.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
    "</Relationships>"
)
# Zip64 records only where the sheet part may pass zipfile's 2 GB limit (it refuses to go on
# without them): a row here is about 650 bytes of XML, 1,500 allows for long texts. Smaller files
# keep the plain records, which Excel has been known to read more reliably than Zip64 ones.
_SHEET_BYTES_PER_ROW = 1500
_XLSX_COMPRESSLEVEL = 3  # deflate: level 3 is about as small as 6 on this XML, at half the time


def _sheet_title(title: str) -> str:
    return re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or "Report"


def _header_xml(value: str) -> str:
    """A bold inline-string cell of the header, escaped in Python as the SQL below does the rows."""
    value = safe_cell(_ILLEGAL_XML.sub("", value))
    if not value:
        return "<c/>"
    text = escape(value, {"\r": "&#13;", "\n": "&#10;"})
    return f'<c s="{_BOLD}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _sheet_head(columns: list[Column]) -> bytes:
    header = "".join(_header_xml(column.label) for column in columns)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane xSplit="1" ySplit="1" topLeftCell="B2" activePane="bottomRight" state="frozen"/>'
        '<selection pane="topRight"/><selection pane="bottomLeft"/>'
        '<selection pane="bottomRight" activeCell="B2" sqref="B2"/>'
        "</sheetView></sheetViews>"
        f'<sheetFormatPr defaultRowHeight="15"/><sheetData><row r="1">{header}</row>\n'
    ).encode()


_SHEET_TAIL = (
    b'</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
    b"</worksheet>"
)


# The characters XML 1.0 forbids (PostgreSQL's text never holds NUL), as a regular expression.
_FORBIDDEN_SQL = r"'[\x01-\x08\x0b\x0c\x0e-\x1f]'"


def _sql_xml_value(column: _SqlColumn) -> str:
    """The value a cell is written from: a text without the characters XML 1.0 forbids (an
    empty one missing), a time as Excel's serial number (days since 1899-12-30) of the local
    wall-clock time. The removal runs only on the rare text that holds one: translate() over
    every text took 40 % of the query's time, the test first about a sixth of that."""
    if column.kind == TEXT:
        text = column.expression
        return (
            f"NULLIF(CASE WHEN {text} ~ {_FORBIDDEN_SQL} "
            f"THEN regexp_replace({text}, {_FORBIDDEN_SQL}, '', 'g') ELSE {text} END, '')"
        )
    if column.kind == DATETIME:
        return (
            f"(extract(epoch FROM ({column.expression} AT TIME ZONE '{_local_time_zone()}') "
            "- timestamp '1899-12-30') / 86400)::float8"
        )
    return column.expression


def _sql_xml_cell(kind: str, value: str) -> str:
    """The SQL of one cell's XML from its value (a missing value an empty cell). Texts as in
    _header_xml, formula-safe and escaped; line breaks go as character references, so that the
    row's text holds none and COPY never quotes it."""
    if kind == TEXT:
        value = _sql_safe(value)
        for character, reference in (("'&'", "'&amp;'"), ("'<'", "'&lt;'"), ("'>'", "'&gt;'"),
                                     ("chr(13)", "'&#13;'"), ("chr(10)", "'&#10;'")):  # fmt: skip
            value = f"replace({value}, {character}, {reference})"
        opening = """'<c t="inlineStr"><is><t xml:space="preserve">'"""
        return f"COALESCE({opening} || {value} || '</t></is></c>', '<c/>')"
    style = f' s="{_STYLE_OF_KIND[kind]}"' if kind in _STYLE_OF_KIND else ""
    return f"""COALESCE('<c{style}><v>' || {value} || '</v></c>', '<c/>')"""


def attendance_xml_sql(filters: fig.ReportFilters, *, contact: bool, now=None) -> tuple[str, tuple]:
    """The attendance rows as one text per row: the sheet's <row>…</row> XML of that row.

    The inner SELECT computes each cell's value once (OFFSET 0 keeps PostgreSQL from folding
    it into the outer one, which would repeat the work for every mention in the XML)."""
    columns = _attendance_sql_columns(contact=contact)
    inner, params = _attendance_select(
        [f"{_sql_xml_value(column)} AS v{i}" for i, column in enumerate(columns)], filters, now=now
    )
    cells = " || ".join(_sql_xml_cell(column.kind, f"v{i}") for i, column in enumerate(columns))
    return f"SELECT '<row>' || {cells} || '</row>' FROM ({inner} OFFSET 0) AS attendance_values", params


def copy_xlsx_rows(filters: fig.ReportFilters, *, contact: bool, now=None, batch_bytes: int = 256 * 1024):
    """Yield the attendance sheet's rows as XML bytes, one line per row, from PostgreSQL's COPY.

    CSV format with a delimiter and a quote character the rows cannot hold (both are removed
    from every text): COPY then writes each row's text as it is, without escaping or quoting.
    """
    query = _mogrified(*attendance_xml_sql(filters, contact=contact, now=now))
    yield from _copy_chunks(
        f"COPY ({query}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01', ENCODING 'UTF8')",
        batch_bytes=batch_bytes,
    )


def xlsx_write_rows_xml(output, title: str, columns: list[Column], rows_xml, *, rows: int = 0) -> None:
    """Write a one-sheet workbook into the binary file `output`, its rows given as XML bytes
    (`rows_xml`, from copy_xlsx_rows); streamed into the zip, so memory stays flat."""
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name={quoteattr(_sheet_title(title))} sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=_XLSX_COMPRESSLEVEL) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open(
            "xl/worksheets/sheet1.xml", "w", force_zip64=rows * _SHEET_BYTES_PER_ROW > zipfile.ZIP64_LIMIT
        ) as sheet:
            sheet.write(_sheet_head(columns))
            for chunk in rows_xml:
                sheet.write(chunk)
            sheet.write(_SHEET_TAIL)


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
