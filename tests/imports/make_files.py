# ruff: noqa: E501 - each row of a test file on one line reads like the spreadsheet it imitates
"""Makes the real-shaped files under tests/imports/files/ (committed; run again only to change them).

.venv/bin/python tests/imports/make_files.py
"""

from __future__ import annotations

import csv
import datetime
import io
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Border, Font, PatternFill, Side

FILES = Path(__file__).resolve().parent / "files"

OFFICIAL_HEADER = [
    "Family name", "Given name", "Name in Khmer", "Sex", "Position", "Ministry", "E-mail", "Phone",
    "Preferred language",
]  # fmt: skip
CLEAN_ROWS = [
    ["Sok", "Dara", "សុខ ដារ៉ា", "female", "Deputy Director", "MISTI", "dara.sok@misti.gov.kh", "+855 12 345 678", "km"],
    ["Chan", "Vuthy", "ចាន់ វុទ្ធី", "male", "Chief of Office", "MEF", "vuthy.chan@mef.gov.kh", "012 222 333", "en"],
    ["Keo", "Sreymom", "កែវ ស្រីមុំ", "F", "Officer", "Ministry of Commerce", "sreymom.keo@moc.gov.kh", "", "km"],
    ["Lim", "Pisey", "លឹម ពិសី", "ស្រី", "Director", "ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍", "", "097 555 0101", ""],
    ["Heng", "Rithy", "ហេង រិទ្ធី", "ប្រុស", "Technical Officer", "MIH", "rithy.heng@misti.gov.kh", "", "km"],
]  # fmt: skip


def write_csv(name: str, rows, *, delimiter=",", bom=False, crlf=False) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    (FILES / name).write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))


def clean_csv() -> None:
    write_csv("officials_clean.csv", [OFFICIAL_HEADER, *CLEAN_ROWS])


def bom_semicolon_csv() -> None:
    """As Excel's “CSV UTF-8” writes it in a locale with a decimal comma: BOM, semicolons, CRLF."""
    header = ["នាមត្រកូល", "នាមខ្លួន", "ឈ្មោះជាអក្សរខ្មែរ", "ភេទ", "មុខតំណែង", "ក្រសួង", "អ៊ីមែល", "លេខទូរស័ព្ទ"]
    rows = [
        ["Sao", "Sopheap", "សៅ សុភាព", "ស្រី", "Director, Department of SMEs", "MISTI", "sopheap.sao@misti.gov.kh", "+85516700800"],
        ["Nhem", "Bora", "ញ៉ែម បូរ៉ា", "ប្រុស", "Deputy Chief; Planning", "MOC", "bora.nhem@moc.gov.kh", ""],
        ["Ouk", "Chenda", "អ៊ុក ចិន្តា", "ស្រី", "Officer", "ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ", "", "011 900 901"],
    ]  # fmt: skip
    write_csv("officials_bom_semicolon.csv", [header, *rows], delimiter=";", bom=True, crlf=True)


def merged_header_xlsx() -> None:
    """A nominee list as a ministry secretary makes it: a merged title, merged group headings,
    bilingual headers, a date cell, a phone typed as a number, and formatted empty rows below."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Nominees"
    sheet["A1"] = "Nominees for Course 2 — Industrial Policy / បេក្ខជនវគ្គទី២"
    sheet.merge_cells("A1:H1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = "Identity"
    sheet.merge_cells("A2:D2")
    sheet["E2"] = "Contact"
    sheet.merge_cells("E2:F2")
    sheet["G2"] = "Workplace"
    sheet.merge_cells("G2:H2")
    headers = [
        "Family name / នាមត្រកូល", "Given name / នាមខ្លួន", "Name in Khmer / ឈ្មោះជាអក្សរខ្មែរ", "Sex / ភេទ",
        "E-mail / អ៊ីមែល", "Phone / លេខទូរស័ព្ទ", "Ministry / ក្រសួង", "Enrolled on / ថ្ងៃចុះឈ្មោះ",
    ]  # fmt: skip
    sheet.append(headers)
    data = [
        ["Sok", "Dara", "សុខ ដារ៉ា", "F", "dara.sok@misti.gov.kh", 85512345678, "MISTI", datetime.datetime(2020, 2, 20)],
        ["Meas", "Sovann", "មាស សុវណ្ណ", "M", "sovann.meas@misti.gov.kh", 16222333, "MISTI", datetime.datetime(2020, 2, 20)],
        ["Phan", "Channary", "ផាន់ ចាន់ណារី", "F", "channary.phan@mef.gov.kh", None, "MEF", "21/02/2020"],
        ["Tep", "Vanna", "ទេព វណ្ណា", "M", None, 977001002, "MOC", None],
    ]  # fmt: skip
    for row in data:
        sheet.append(row)
    thin = Side(style="thin")
    for row in range(5, 30):  # trailing rows with borders and fill but no values
        for column in range(1, 9):
            cell = sheet.cell(row=row, column=column)
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
    sheet.cell(row=25, column=3).value = ""
    workbook.save(FILES / "enrolments_merged_header.xlsx")


def khmer_compositions_csv() -> None:
    """The same names as the tests' existing officials, typed differently: Khmer ោ as េ + ា, a
    zero-width space between words, ATTHACAN before COENG (NFC reorders them), Latin accents
    decomposed (NFD), stray spaces."""
    zwsp = "\u200b"
    rows = [
        ["Family name", "Given name", "Name in Khmer", "Ministry"],
        ["", "", "ចាន់ ស\u17c1\u17b6ភា", "MISTI"],  # សោភា typed with េ + ា
        ["", "", f"សុខ{zwsp}ស៊ីណា", "MISTI"],
        ["", "", "ង\u17dd\u17d2គ ធីតា", "MISTI"],  # ATTHACAN + COENG in non-canonical order
        [unicodedata.normalize("NFD", "Nguyễn"), unicodedata.normalize("NFD", "Thị Ánh"), "", "  MEF "],
    ]
    write_csv("officials_khmer_compositions.csv", rows)


def two_hundred_and_one_bad_csv() -> None:
    rows = [OFFICIAL_HEADER]
    for n in range(1, 202):
        ministry = "Ministry of Magic" if n == 150 else ("MISTI", "MEF", "MOC", "MAFF")[n % 4]
        rows.append([f"Test{n:03d}", "Bulk", f"សាកល្បង {n}", "female" if n % 2 else "male", "Officer",
                     ministry, f"bulk{n:03d}@example.gov.kh", f"+855 10 {n:06d}", "km"])  # fmt: skip
    write_csv("officials_200_good_1_bad.csv", rows)


def png_renamed_csv() -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    (FILES / "image_renamed.csv").write_bytes(png)


def zip_bomb_xlsx() -> None:
    """60 MB of zeros in a few dozen kilobytes, dressed as a workbook."""
    with zipfile.ZipFile(
        FILES / "zip_bomb.xlsx", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
    ) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\x00" * (1024 * 1024)
            for _ in range(60):
                member.write(block)


def formula_xlsx() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(OFFICIAL_HEADER)
    sheet.append(["Pen", "Sothea", "ប៉ែន សុធា", "female", '=HYPERLINK("http://evil.example/x","Director")',
                  "MISTI", "sothea.pen@misti.gov.kh", "", "km"])  # fmt: skip
    # Typed text that starts with "=" (a text cell, as Excel saves a cell typed as '=...), not a
    # formula: formulas are read as their saved values.
    sheet["E2"].data_type = "s"
    workbook.save(FILES / "officials_formula.xlsx")


def attendance_csv() -> None:
    rows = [
        ["ឈ្មោះ", "អ៊ីមែល", "វត្តមាន", "កំណត់សម្គាល់"],
        ["SOK Dara", "", "មានវត្តមាន", ""],
        ["", "vuthy.chan@mef.gov.kh", "late", "arrived 9:40"],
        ["កែវ ស្រីមុំ", "", "មានច្បាប់", "mission"],
    ]
    write_csv("attendance_signin.csv", rows, bom=True)


def enrolments_csv() -> None:
    rows = [
        ["Family name", "Given name", "Ministry", "E-mail"],
        ["Sok", "Dara", "MISTI", "dara.sok@misti.gov.kh"],
        ["Chan", "Vuthy", "MEF", "vuthy.chan@mef.gov.kh"],
        ["Noun", "Sreyneang", "MOC", "sreyneang.noun@moc.gov.kh"],
    ]
    write_csv("enrolments_clean.csv", rows)


if __name__ == "__main__":
    FILES.mkdir(exist_ok=True)
    for make in (clean_csv, bom_semicolon_csv, merged_header_xlsx, khmer_compositions_csv,
                 two_hundred_and_one_bad_csv, png_renamed_csv, zip_bomb_xlsx, formula_xlsx,
                 attendance_csv, enrolments_csv):  # fmt: skip
        make()
    print("\n".join(sorted(p.name for p in FILES.iterdir())))
