"""Bad files get a clear message and change nothing: empty, not a spreadsheet, too big, a zip bomb,
wrong columns, too many rows. Good files are read whatever program wrote them."""

from __future__ import annotations

import pytest

from participants.imports.columns import SPECS, find_table
from participants.imports.plan import preview_import
from participants.imports.reading import ImportFileError, read_file
from participants.models import ImportBatch, Official
from tests.imports.conftest import file_bytes


def refusal(staff, name: str, data: bytes, kind: str = "officials") -> str:
    before = Official.objects.count()
    with pytest.raises(ImportFileError) as caught:
        preview_import(kind=kind, filename=name, data=data, user=staff)
    assert Official.objects.count() == before
    batch = ImportBatch.objects.latest("id")
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.message == caught.value.message
    return caught.value.message


def test_an_empty_file_is_refused(staff):
    assert refusal(staff, "empty.csv", b"") == "The file is empty."
    assert refusal(staff, "bom-only.csv", b"\xef\xbb\xbf\r\n") == "The file is empty."


def test_a_header_without_rows_is_refused(staff):
    assert "no rows" in refusal(staff, "header.csv", b"Family name,Ministry\n")


def test_an_image_renamed_csv_is_named_as_an_image(staff):
    message = refusal(staff, "image_renamed.csv", file_bytes("image_renamed.csv"))
    assert "PNG image, not a CSV or XLSX" in message


def test_a_zip_bomb_renamed_xlsx_is_refused_before_it_is_unpacked(staff):
    message = refusal(staff, "zip_bomb.xlsx", file_bytes("zip_bomb.xlsx"))
    assert "would unpack to 60.0 MB, more than the 50.0 MB allowed" in message
    assert "zip bomb" in message


def test_a_file_over_the_size_limit_is_refused(staff, settings):
    settings.PCP_IMPORT_MAX_BYTES = 10 * 1024
    message = refusal(staff, "officials_200_good_1_bad.csv", file_bytes("officials_200_good_1_bad.csv"))
    assert message == "The file is 19 KB; the largest file accepted is 10 KB."


def test_the_limits_default_to_twenty_megabytes_and_fifty_thousand_rows(settings):
    assert settings.PCP_IMPORT_MAX_BYTES == 20 * 1024 * 1024
    assert settings.PCP_IMPORT_MAX_ROWS == 50_000


def test_a_csv_that_is_not_utf8_is_refused_with_how_to_save_it(staff):
    message = refusal(staff, "latin1.csv", "Family name,Ministry\nSok Dara é,MISTI\n".encode("latin-1"))
    assert "CSV UTF-8" in message


def test_a_text_file_with_binary_data_is_refused(staff):
    assert "binary data" in refusal(staff, "odd.csv", b"Family name,Ministry\n\x00\x01\x02")


def test_a_damaged_workbook_is_refused(staff):
    assert "not a valid XLSX" in refusal(staff, "broken.xlsx", b"PK\x03\x04garbage-not-a-zip")
    assert "not an Excel workbook" in refusal(staff, "named.xlsx", b"Family name,Ministry\nSok,MISTI\n")


def test_wrong_columns_are_refused_naming_the_expected_ones(staff):
    message = refusal(staff, "wrong.csv", b"Colour,Animal\nred,cat\n")
    assert "The columns are not the ones this import needs" in message
    assert "Family name / នាមត្រកូល" in message
    assert "Found: Colour, Animal" in message


def test_a_column_given_twice_is_refused(staff):
    assert "appears twice" in refusal(staff, "twice.csv", b"Ministry,Family name,Surname\nMISTI,Sok,Sok\n")


def test_a_hundred_thousand_rows_are_refused_with_a_clear_message(staff):
    lines = ["Family name,Ministry"] + [f"Sok{n},MISTI" for n in range(100_000)]
    message = refusal(staff, "huge.csv", "\n".join(lines).encode())
    assert message.startswith("The file has more than 50,000 rows")
    assert "Split it" in message


def test_a_bom_and_semicolons_are_read_as_excel_writes_them():
    sheet = read_file("officials_bom_semicolon.csv", file_bytes("officials_bom_semicolon.csv"))
    table = find_table(SPECS["officials"], sheet)
    assert table.columns[:2] == ["family_name", "given_name"]
    assert len(table.rows) == 3
    assert table.rows[0][1]["position"] == "Director, Department of SMEs"
    assert table.rows[0][1]["family_name"] == "Sao"  # no BOM glued to the first header or value


def test_an_xlsx_with_merged_headings_and_trailing_empty_rows_is_read():
    sheet = read_file("enrolments_merged_header.xlsx", file_bytes("enrolments_merged_header.xlsx"))
    table = find_table(SPECS["enrolments"], sheet)
    assert table.header_line == 3
    assert [line for line, _ in table.rows] == [4, 5, 6, 7]
    first = table.rows[0][1]
    assert first["phone"] == "85512345678"
    assert first["enrolled_on"] == "2020-02-20"
    assert first["family_name"] == "Sok"
