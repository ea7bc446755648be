"""Turn an uploaded file into rows of text, refusing anything that is not a sane CSV or XLSX.

Every refusal is an ImportFileError with a message for the person who uploaded the file. The
checks run before any parsing that could be expensive: the size cap (PCP_IMPORT_MAX_BYTES),
the file's real type from its first bytes (an image renamed .csv is named as an image), and for
a workbook the uncompressed size of its zip members (PCP_MAX_WORKBOOK_UNCOMPRESSED; zipfile
never inflates a member past its declared size, so the declared sizes bound the real work).
openpyxl reads read-only and parses XML through defusedxml when it is installed, as it is.
A formula cell is read as the value the spreadsheet program saved with it (data_only=True), never
evaluated here; a formula saved without a value (a file written by a script and never opened in a
spreadsheet program) is reported as an unreadable cell of its row, never imported as its text.
A sheet padded with empty formatted rows is read up to its last row with data.
Read with `stream=True`, the rows come one at a time as the file is parsed (a worker planning a
50,000-row file then holds one row, not the file's rows); the notes and the unreadable cells are
complete once the rows have all been read.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

# Readable columns in one row; a wider sheet is cut here (no import has more than a dozen).
MAX_COLUMNS = 60
# Rows above the header that may hold a title, a logo caption or merged group headings.
HEADER_SEARCH_ROWS = 10
MAX_ZIP_MEMBERS = 2000
# A run of this many empty rows ends the sheet: spreadsheets formatted “to the bottom” declare a
# million rows that hold nothing, and reading them all would take minutes.
MAX_EMPTY_RUN = 1000
# A cell longer than this is cut (no field of an import holds more than a few hundred
# characters, so the row still gets its “too long” error, and the plan stays small).
MAX_CELL_CHARS = 2000
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97-2003 (.xls) or other old Office file"),
    (b"Rar!", "RAR archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
)


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why, for the uploader."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class RawSheet:
    """The rows of a file as text, each with its line number in the file (1-based): a list, or an
    iterator read once when the file is streamed."""

    file_type: str
    rows: Iterable[tuple[int, list[str]]] = field(default_factory=list)
    # Cells that hold no value to import, by line: (column index, cell reference, formula).
    unread: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)
    # What the reader did that the person should know (sheets or columns left out, cells cut).
    notes: list[str] = field(default_factory=list)


def max_bytes() -> int:
    return settings.PCP_IMPORT_MAX_BYTES


def max_rows() -> int:
    return settings.PCP_IMPORT_MAX_ROWS


def max_uncompressed() -> int:
    return getattr(settings, "PCP_MAX_WORKBOOK_UNCOMPRESSED", 50 * 1024 * 1024)


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def too_large(size: int) -> ImportFileError:
    return ImportFileError(
        _("The file is %(size)s; the largest file accepted is %(limit)s.")
        % {"size": human_size(size), "limit": human_size(max_bytes())}
    )


def too_many_rows() -> ImportFileError:
    return ImportFileError(
        _(
            "The file has more than %(limit)s rows. Split it into files of at most %(limit)s rows "
            "and import them one after the other."
        )
        % {"limit": f"{max_rows():,}"}
    )


def cell_text(value) -> str:
    """A cell as the text a person typed: integral numbers without “.0”, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip()


def _cut(cells: list[str], line: int, sheet: RawSheet) -> list[str]:
    """Cells past MAX_CELL_CHARS are cut, with a note naming the line."""
    if all(len(cell) <= MAX_CELL_CHARS for cell in cells):
        return cells
    sheet.notes.append(
        _("Row %(line)s has a cell of more than %(limit)s characters; it was cut to that length.")
        % {"line": line, "limit": f"{MAX_CELL_CHARS:,}"}
    )
    return [cell[:MAX_CELL_CHARS] for cell in cells]


def _note_wide(width: int, line: int, sheet: RawSheet) -> None:
    if width > MAX_COLUMNS and not any("columns" in note for note in sheet.notes):
        sheet.notes.append(
            _(
                "Row %(line)s has %(count)s columns; only the first %(limit)s were read (no import "
                "uses more). Delete the extra columns if they hold data."
            )
            % {"line": line, "count": width, "limit": MAX_COLUMNS}
        )


def check_file(name: str, data: bytes) -> None:
    """The checks that need no parsing (size, real type, password, a workbook's unpacked size):
    cheap enough for the web request, so a file refused by them is refused at once, never queued."""
    if not data or not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise ImportFileError(_("The file is empty."))
    if len(data) > max_bytes():
        raise too_large(len(data))
    if data.startswith(OLE_SIGNATURE) and "EncryptedPackage".encode("utf-16-le") in data:
        raise ImportFileError(
            _(
                "This workbook is protected by a password, so it cannot be read. Open it, remove the "
                "password (File › Info › Protect Workbook), save it and upload it again."
            )
        )
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            raise ImportFileError(
                _(
                    "This file is a %(kind)s, not a CSV or XLSX spreadsheet. "
                    "Save the sheet as CSV UTF-8 or .xlsx."
                )
                % {"kind": kind}
            )
    lowered = name.lower()
    if data.startswith(b"PK\x03\x04"):
        _check_zip(data)
        return
    if lowered.endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("This file is named .xlsx but is not an Excel workbook."))
    if lowered.endswith((".xls", ".ods", ".numbers")):
        raise ImportFileError(
            _("Only CSV and .xlsx files can be imported: save the sheet as .xlsx or CSV UTF-8.")
        )


def read_file(name: str, data: bytes, *, stream: bool = False) -> RawSheet:
    """Read `data` (the whole upload) named `name` into rows, or raise ImportFileError.

    `stream`: the sheet's rows are an iterator, parsed as they are taken (a row-level refusal, such
    as too many rows, is then raised while iterating); otherwise a list, all read here."""
    check_file(name, data)
    if data.startswith(b"PK\x03\x04"):
        _check_zip(data)
        sheet = RawSheet(file_type="xlsx")
        sheet.rows = _xlsx_rows(data, sheet)
    else:
        sheet = RawSheet(file_type="csv")
        sheet.rows = _csv_rows(_csv_text(data), sheet)
    if not stream:
        sheet.rows = list(sheet.rows)
    return sheet


def _csv_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 (Excel's “Unicode Text”), tab-separated
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(
                _("This UTF-16 text file is damaged. Save the sheet as CSV UTF-8 or .xlsx.")
            ) from None
    if b"\x00" in data:  # anywhere: no text cell may hold one (PostgreSQL refuses to store it)
        raise ImportFileError(
            _(
                "This file is not a CSV text file (it contains binary data). "
                "Save the sheet as CSV UTF-8 or .xlsx."
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "This CSV file is not in UTF-8, so Khmer text would be garbled. In Excel choose "
                "“CSV UTF-8 (Comma delimited)”, in LibreOffice the character set “Unicode (UTF-8)”."
            )
        ) from None
    return text


def _first_line(text: str) -> str:
    """The first line with something on it, found without splitting the whole file."""
    for line in io.StringIO(text):
        if line.strip():
            return line
    return ""


def _csv_rows(text: str, sheet: RawSheet) -> Iterator[tuple[int, list[str]]]:
    first_line = _first_line(text)
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    if first_line.count("\t") > max(first_line.count(";"), first_line.count(",")):
        delimiter = "\t"
    limit = max_rows() + HEADER_SEARCH_ROWS
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    count = 0
    try:
        for values in reader:
            _note_wide(len(values), reader.line_num, sheet)
            cells = [value.strip() for value in values[:MAX_COLUMNS]]
            if any(cells):
                count += 1
                if count > limit:
                    raise too_many_rows()
                yield reader.line_num, _cut(cells, reader.line_num, sheet)
    except csv.Error as error:
        raise ImportFileError(
            _("Line %(line)s of the CSV file cannot be read (%(error)s).")
            % {"line": reader.line_num, "error": error}
        ) from None


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError(_("This file is not a valid XLSX workbook (the archive is damaged).")) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ImportFileError(_("This workbook has too many parts to be a spreadsheet; it is refused."))
        total = sum(member.file_size for member in members)
        if total > max_uncompressed():
            raise ImportFileError(
                _(
                    "This workbook would unpack to %(size)s, more than the %(limit)s allowed; "
                    "it is refused (it may be a zip bomb)."
                )
                % {"size": human_size(total), "limit": human_size(max_uncompressed())}
            )
        names = {member.filename for member in members}
        if "xl/workbook.xml" not in names:
            raise ImportFileError(_("This file is a zip archive, not an Excel workbook."))


def _open_workbook(data: bytes, *, data_only: bool):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as error:
        raise ImportFileError(
            _("This workbook cannot be read (%(error)s). Open it and save it again as .xlsx.")
            % {"error": error}
        ) from None
    except Exception as error:  # defusedxml's refusals and other parse errors from a hostile file
        raise ImportFileError(
            _("This workbook cannot be read safely (%(error)s).") % {"error": type(error).__name__}
        ) from None


def _xlsx_rows(data: bytes, sheet: RawSheet) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's saved values; formulas are read alongside (a second parse of the same
    sheet, row by row) only to name the cells whose formula has no saved value."""
    from openpyxl.utils import get_column_letter

    values_book = _open_workbook(data, data_only=True)
    formulas_book = _open_workbook(data, data_only=False)
    limit = max_rows() + HEADER_SEARCH_ROWS
    count = 0
    try:
        if not values_book.worksheets:
            raise ImportFileError(_("This workbook has no sheet."))
        values_sheet, formulas_sheet = values_book.worksheets[0], formulas_book.worksheets[0]
        if len(values_book.worksheets) > 1:
            sheet.notes.append(
                _("The workbook has %(count)s sheets; only the first, “%(sheet)s”, was read.")
                % {"count": len(values_book.worksheets), "sheet": values_sheet.title}
            )
        empty_run = 0
        rows = zip(
            values_sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True),
            formulas_sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True),
            strict=False,
        )
        for number, (values, formulas) in enumerate(rows, start=1):
            cells = [cell_text(value) for value in values]
            unread = [
                (position, f"{get_column_letter(position + 1)}{number}", formula)
                for position, (value, formula) in enumerate(zip(values, formulas, strict=False))
                if value is None and isinstance(formula, str) and formula.startswith("=")
            ]
            if unread:
                sheet.unread[number] = unread
            if any(cells) or unread:
                empty_run = 0
                count += 1
                if count > limit:
                    raise too_many_rows()
                yield number, _cut(cells, number, sheet)
            else:
                empty_run += 1
                if empty_run >= MAX_EMPTY_RUN:
                    if (values_sheet.max_row or 0) > number:
                        sheet.notes.append(
                            _(
                                "Reading stopped at row %(line)s: the %(count)s rows before it are empty "
                                "(the sheet is formatted down to row %(last)s). Data further down was not "
                                "read; move it up if there is any."
                            )
                            % {
                                "line": number,
                                "count": f"{MAX_EMPTY_RUN:,}",
                                "last": f"{values_sheet.max_row:,}",
                            }
                        )
                    break
    except ImportFileError:
        raise
    except Exception as error:  # a damaged sheet part
        raise ImportFileError(
            _("This workbook cannot be read (%(error)s). Open it and save it again as .xlsx.")
            % {"error": type(error).__name__}
        ) from None
    finally:
        values_book.close()
        formulas_book.close()
