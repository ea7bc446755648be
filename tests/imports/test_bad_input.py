"""Hostile and odd files: each gets a clear message (or a note in the preview) and writes nothing."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.urls import reverse
from openpyxl import Workbook

from participants.imports.apply import ImportRefused, apply_import
from participants.imports.reading import MAX_CELL_CHARS, read_file
from participants.models import ImportBatch, Official
from tests.imports.test_reading import refusal

HEADER = "Family name,Given name,Ministry,E-mail\n"
ROW = "Sok,Dara,MISTI,d@x.kh\n"


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_encrypted_workbook_is_refused_asking_to_remove_the_password(staff):
    # An encrypted .xlsx is an OLE compound file holding an "EncryptedPackage" stream.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "EncryptedPackage".encode("utf-16-le")
    assert "protected by a password" in refusal(staff, "secret.xlsx", data)


def test_a_word_document_renamed_xlsx_is_refused(staff):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert "not an Excel workbook" in refusal(staff, "list.xlsx", buffer.getvalue())


def test_a_workbook_of_a_hundred_sheets_reads_the_first_and_says_so(ministries, preview):
    workbook = Workbook()
    workbook.active.title = "Nominees"
    workbook.active.append(["Family name", "Given name", "Ministry", "E-mail"])
    workbook.active.append(["Sok", "Dara", "MISTI", "d@x.kh"])
    for number in range(99):
        workbook.create_sheet(f"Sheet {number}")
    batch = preview("many.xlsx", data=workbook_bytes(workbook))
    assert batch.counts["create"] == 1
    assert "100 sheets; only the first, “Nominees”, was read" in batch.message


def test_a_million_empty_formatted_rows_stop_at_the_last_row_with_data(ministries, preview):
    workbook = Workbook()
    workbook.active.append(["Family name", "Given name", "Ministry", "E-mail"])
    workbook.active.append(["Sok", "Dara", "MISTI", "d@x.kh"])
    data = workbook_bytes(workbook)
    source = zipfile.ZipFile(io.BytesIO(data))
    padded = io.BytesIO()
    empty_rows = "".join(f'<row r="{n}" s="1" customFormat="1"/>' for n in range(3, 1_000_001))
    with zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode().replace('ref="A1:D2"', 'ref="A1:D1000000"')
                content = text.replace("</sheetData>", empty_rows + "</sheetData>").encode()
            target.writestr(item.filename, content)
    started = time.monotonic()
    batch = preview("formatted.xlsx", data=padded.getvalue())
    assert time.monotonic() - started < 20
    assert batch.counts["create"] == 1
    assert "Reading stopped at row" in batch.message


def test_a_utf16_csv_is_read(ministries, preview):
    data = (HEADER + ROW).replace(",", "\t").encode("utf-16")
    assert preview("unicode.txt", data=data).counts["create"] == 1


def test_a_windows_1252_csv_is_refused_saying_how_to_save_it(staff):
    assert "CSV UTF-8" in refusal(staff, "ansi.csv", (HEADER + "Sok,Dara,MISTI,café@x.kh\n").encode("cp1252"))


def test_mixed_line_endings_and_a_khmer_header_are_read(ministries, preview):
    data = (
        "នាមត្រកូល,នាមខ្លួន,ក្រសួង,អ៊ីមែល\r\nSok,Dara,MISTI,d@x.kh\nKeo,Mony,MISTI,k@x.kh\rChan,Vuthy,MEF,v@x.kh\r\n"
    )
    batch = preview("mixed.csv", data=data.encode("utf-8-sig"))
    assert batch.counts["create"] == 3


def test_a_row_of_five_hundred_columns_is_read_with_a_note(ministries, preview):
    wide = HEADER.strip() + "," * 496 + "\n" + ROW.strip() + ",x" * 496 + "\n"
    batch = preview("wide.csv", data=wide.encode())
    assert batch.counts["create"] == 1
    assert "500 columns; only the first 60 were read" in batch.message


def test_a_cell_of_a_hundred_thousand_characters_is_a_row_error_not_a_huge_plan(ministries, preview):
    data = HEADER + "Sok," + "D" * 100_000 + ",MISTI,d@x.kh\n"
    batch = preview("long.csv", data=data.encode())
    assert batch.rows[0]["action"] == "error"
    assert "Row 2, column “Given name”, “DDDD" in batch.rows[0]["reason"]
    assert "…”: longer than 100 characters. Shorten it." in batch.rows[0]["reason"]
    assert len(batch.rows[0]["values"]["given_name"]) == MAX_CELL_CHARS
    assert "more than 2,000 characters" in batch.message
    assert Official.objects.count() == 0


def test_a_second_upload_of_an_applied_file_links_to_the_earlier_import(
    ministries, preview, staff, staff_client
):
    first = apply_import(batch=preview("same.csv", data=(HEADER + ROW).encode()), user=staff)
    again = preview("same-renamed.csv", data=(HEADER + ROW).encode())
    assert "already imported" in again.message
    page = staff_client.get(reverse("import_batch", args=[again.pk])).content.decode()
    assert reverse("import_batch", args=[first.pk]) in page and "already applied" in page
    assert ImportBatch.objects.get(pk=again.pk).status == ImportBatch.Status.PREVIEWED


def test_read_file_keeps_the_line_numbers_of_mixed_line_endings():
    sheet = read_file("mixed.csv", b"a,b\r\nc,d\ne,f\rg,h")
    assert [line for line, _ in sheet.rows] == [1, 2, 3, 4]


def test_a_header_cell_merged_across_two_columns_is_named_in_a_clear_refusal(staff):
    # "Name" typed once over the family and given names: the given-name column has no header.
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", None, "Ministry", "E-mail"])
    sheet.merge_cells("A1:B1")
    sheet.append(["Sok", "Dara", "MISTI", "d@x.kh"])
    message = refusal(staff, "merged.xlsx", workbook_bytes(workbook))
    assert "The columns are not the ones this import needs" in message
    assert "Found: Name, Ministry, E-mail" in message


def test_an_e_mail_the_validator_takes_but_longer_than_the_column_fails_the_apply_saying_so(
    ministries, preview, staff
):
    # The e-mail validator takes up to 320 characters, the column 254: the preview lets it by, and
    # the apply (which does not check each row again in full) refuses it by its length.
    email = "d" * 60 + "@" + ".".join(["k" * 60] * 4) + ".kh"
    assert 254 < len(email) <= 320
    batch = preview("long.csv", data=f"{HEADER}Sok,Dara,MISTI,{email}\n".encode())
    assert batch.counts["create"] == 1, batch.counts
    officials = Official.objects.count()
    with pytest.raises(ImportRefused) as refused:
        apply_import(batch=batch, user=staff)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED and batch.message == refused.value.message
    assert "Line 2:" in batch.message and "at most 254 characters" in batch.message
    assert Official.objects.count() == officials
