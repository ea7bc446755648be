"""The columns of each import, their English and Khmer headers, and finding the header row.

A header is recognised after Unicode NFC normalisation, case folding and trimming; a
bilingual header such as “Family name / នាមត្រកូល” is recognised by either half. The header
row is the row, among the first ones, that names the most known columns, so a title row or
merged group headings above it do no harm.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from participants.imports.reading import (
    HEADER_SEARCH_ROWS,
    ImportFileError,
    RawSheet,
    max_rows,
    too_many_rows,
)


@dataclass(frozen=True)
class Column:
    key: str
    label_en: str
    label_km: str
    aliases: tuple[str, ...] = ()
    example: str = ""


FAMILY = Column("family_name", "Family name", "នាមត្រកូល", ("surname", "last name", "family"), "SOK")
GIVEN = Column("given_name", "Given name", "នាមខ្លួន", ("first name", "given", "forename"), "Dara")
NAME_KM = Column(
    "name_km", "Name in Khmer", "ឈ្មោះជាអក្សរខ្មែរ", ("khmer name", "name (khmer)", "ឈ្មោះខ្មែរ"), "សុខ ដារ៉ា"
)
SEX = Column("sex", "Sex", "ភេទ", ("gender",), "female")
POSITION = Column("position", "Position", "មុខតំណែង", ("title", "job title", "តួនាទី"), "Deputy Director")
MINISTRY = Column("ministry", "Ministry", "ក្រសួង", ("ministry or body", "institution", "ស្ថាប័ន"), "MISTI")
EMAIL = Column(
    "email", "E-mail", "អ៊ីមែល", ("email", "e-mail address", "email address", "mail"), "dara@misti.gov.kh"
)
PHONE = Column(
    "phone", "Phone", "លេខទូរស័ព្ទ", ("telephone", "mobile", "phone number", "tel", "ទូរស័ព្ទ"), "+855 12 345 678"
)
LANGUAGE = Column("preferred_language", "Preferred language", "ភាសា", ("language",), "km")
ENROLLED_ON = Column(
    "enrolled_on", "Enrolled on", "ថ្ងៃចុះឈ្មោះ", ("date", "enrolment date", "enrollment date"), "2020-02-20"
)
NAME = Column("name", "Name", "ឈ្មោះ", ("full name", "participant", "ឈ្មោះពេញ"), "SOK Dara")
STATUS = Column("status", "Status", "វត្តមាន", ("attendance", "present", "ស្ថានភាព"), "present")
NOTE = Column("note", "Note", "កំណត់សម្គាល់", ("notes", "remarks", "comment", "ផ្សេងៗ"), "")

# The portal's own ID of an official (shown on their page and in exports): identity, like the e-mail.
OFFICIAL_ID = Column("official_id", "Official ID", "លេខសម្គាល់មន្ត្រី", ("id", "official id", "លេខសម្គាល់"), "")

# The code printed beside each official on a session's sign-in sheet (participants/signin.py).
ROW_CODE = Column("row_code", "Row code", "លេខកូដជួរ", ("code", "sheet code", "កូដ"), "K7MXR")

OFFICIAL_COLUMNS = (FAMILY, GIVEN, NAME_KM, SEX, POSITION, MINISTRY, EMAIL, PHONE, LANGUAGE, OFFICIAL_ID)

# The sign-in sheet's template, in this order: what staff type from the paper first, then who.
SIGNIN_COLUMNS = (ROW_CODE, STATUS, NOTE, FAMILY, GIVEN, NAME_KM, MINISTRY, PHONE, EMAIL)


@dataclass(frozen=True)
class ImportSpec:
    kind: str
    title: object
    columns: tuple[Column, ...]
    # Each inner tuple: at least one of these keys must be a column of the file.
    required: tuple[tuple[str, ...], ...]


SPECS = {
    "officials": ImportSpec(
        "officials",
        gettext_lazy("Officials"),
        OFFICIAL_COLUMNS,
        (("ministry",), ("family_name", "given_name", "name_km")),
    ),
    "enrolments": ImportSpec(
        "enrolments",
        gettext_lazy("Enrolments in a course"),
        (*OFFICIAL_COLUMNS[:-1], ENROLLED_ON, OFFICIAL_ID),
        (("email", "phone", "family_name", "given_name", "name_km"),),
    ),
    "attendance": ImportSpec(
        "attendance",
        gettext_lazy("Attendance at a session (sign-in sheet)"),
        (NAME, FAMILY, GIVEN, NAME_KM, EMAIL, PHONE, STATUS, NOTE, OFFICIAL_ID),
        (("name", "family_name", "given_name", "name_km", "email", "phone"), ("status",)),
    ),
    # A session's printed sheet: rows with a code are that official, whatever else they say; rows
    # without one (walk-ins) are matched like the attendance import's rows.
    "signin": ImportSpec(
        "signin",
        gettext_lazy("Printed sign-in sheet of a session (by row code)"),
        SIGNIN_COLUMNS,
        (("row_code",), ("status",)),
    ),
}


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    text = text.replace("_", " ").replace("*", "").replace("\u200b", "")
    text = re.sub(r"\s+", " ", text).strip(" :.")
    return text


def _lookup(spec: ImportSpec) -> dict[str, str]:
    table: dict[str, str] = {}
    for column in spec.columns:
        for label in (column.key, column.label_en, column.label_km, *column.aliases):
            table.setdefault(normalise_header(label), column.key)
    return table


def match_header(spec: ImportSpec, text: str) -> str | None:
    table = _lookup(spec)
    cleaned = normalise_header(text)
    if not cleaned:
        return None
    if cleaned in table:
        return table[cleaned]
    for part in re.split(r"\s*[/|\n]\s*|\s*\(\s*|\s*\)\s*", cleaned):
        if part and part in table:
            return table[part]
    return None


@dataclass
class Table:
    """A file's rows keyed by column, each with its line number; plus the columns it ignored,
    each column's header as the file writes it, and the cells that could not be read (by line)."""

    header_line: int
    columns: list[str]
    ignored: list[str]
    rows: Iterable[tuple[int, dict[str, str]]]  # a list, or an iterator when the sheet is streamed
    headers: dict[str, str] = field(default_factory=dict)
    cell_errors: dict[int, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def find_table(spec: ImportSpec, sheet: RawSheet) -> Table:
    """The header among the first rows, and the rows under it keyed by column. A streamed sheet
    (rows an iterator) gives a streamed table: its rows, cell errors and the refusals that need
    every row (no rows, too many) come as its rows are taken."""
    streamed = not isinstance(sheet.rows, list)
    source = iter(sheet.rows)
    top = list(itertools.islice(source, HEADER_SEARCH_ROWS))
    if not top:
        raise ImportFileError(_("The file is empty."))
    best_index, best_hits = 0, -1
    for index, (_line, cells) in enumerate(top):
        hits = len({key for key in (match_header(spec, cell) for cell in cells) if key})
        if hits > best_hits:
            best_index, best_hits = index, hits
    header_line, header_cells = top[best_index]
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for position, cell in enumerate(header_cells):
        key = match_header(spec, cell)
        if key is None:
            if cell:
                ignored.append(cell)
            continue
        if key in positions:
            raise ImportFileError(
                _("The column “%(column)s” appears twice in the header (line %(line)s).")
                % {"column": cell, "line": header_line}
            )
        positions[key] = position
    missing = [group for group in spec.required if not any(key in positions for key in group)]
    if best_hits <= 0 or missing:
        expected = ", ".join(f"{c.label_en} / {c.label_km}" for c in spec.columns)
        found = ", ".join(cell for cell in header_cells if cell) or _("nothing")
        raise ImportFileError(
            _(
                "The columns are not the ones this import needs. Expected (in English or Khmer): "
                "%(expected)s. Found: %(found)s. Download the template to see the layout."
            )
            % {"expected": expected, "found": found}
        )
    headers = {key: header_cells[pos] for key, pos in positions.items()}
    table = Table(
        header_line=header_line,
        columns=list(positions),
        ignored=ignored,
        rows=[],
        headers=headers,
        notes=sheet.notes,
    )
    table.rows = _table_rows(
        itertools.chain(top[best_index + 1 :], source), positions, header_cells, sheet, table.cell_errors
    )
    if not streamed:
        table.rows = list(table.rows)
    return table


def _table_rows(source, positions, header_cells, sheet, cell_errors) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows under the header keyed by column; a cell that could not be read goes into
    `cell_errors` (by line) before its row is given."""
    used = {pos: key for key, pos in positions.items()}
    count = 0
    for line, cells in source:
        values = {key: (cells[pos] if pos < len(cells) else "") for key, pos in positions.items()}
        unread = [(pos, ref, formula) for pos, ref, formula in sheet.unread.get(line, ()) if pos in used]
        for pos, ref, formula in unread:
            cell_errors.setdefault(line, []).append(
                _(
                    "Row %(line)s, column “%(column)s” (cell %(cell)s): the formula %(formula)s has no "
                    "saved value. Open the file in Excel or LibreOffice, save it, and upload it again."
                )
                % {"line": line, "column": header_cells[pos], "cell": ref, "formula": formula[:80]}
            )
        if any(values.values()) or unread:
            count += 1
            if count > max_rows():
                raise too_many_rows()
            yield line, values
    if not count:
        raise ImportFileError(_("The file has a header but no rows to import."))


def normalise_code(text: str) -> str:
    """A code as typed: case, spaces and hyphens do not matter (codes hold none); nothing else is
    folded, so a code matches only itself."""
    return "".join(text.split()).replace("-", "").upper()
