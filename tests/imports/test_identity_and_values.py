"""People matched on who they are, spreadsheet values rather than formulas, dates in every form a
ministry types them, repeated rows as row errors, and Khmer-digit phones."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from participants.imports.apply import ImportRefused, apply_import
from participants.imports.matching import phone_canonical, phone_key
from participants.imports.plan import parse_date
from participants.models import Attendance, Enrollment, ImportBatch, Official
from participants.services import enrollment_create, official_create
from tests.factories import CourseFactory, SessionFactory

HEADER = "Family name,Given name,Ministry,E-mail,Phone\n"


def actions(batch) -> list[str]:
    return [row["action"] for row in batch.rows]


def xlsx(rows: list[list], cached: dict[str, str] | None = None) -> bytes:
    """A workbook as openpyxl writes it (formulas without saved values); `cached` gives saved
    values to formula cells by reference, as Excel would have written them."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if not cached:
        return buffer.getvalue()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, value in cached.items():
                    start = text.index(f'<c r="{ref}"')
                    end = text.index("</c>", start)
                    formula = text[text.index("<f>", start) : text.index("</f>", start) + 4]
                    text = text[:start] + f'<c r="{ref}" t="str">{formula}<v>{value}</v>' + text[end:]
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


# --- identity -------------------------------------------------------------------------------


def test_two_colleagues_sharing_an_office_phone_are_imported_as_two_people(ministries, preview, staff):
    """Guards against the phone as identity: two names with one phone were one person (a
    "duplicate row"), and an existing official with that phone was updated with another's name."""
    official_create(family_name="Keo", given_name="Sophal", ministry=ministries["misti"], phone="023 880 880")
    data = (HEADER + "Sok,Dara,MISTI,,023 880 880\nChan,Vuthy,MISTI,,+855 23 880 880\n").encode()
    batch = preview("office.csv", data=data)
    assert actions(batch) == ["create", "create"], [row["reason"] for row in batch.rows]
    assert "same phone number but another name" in batch.rows[0]["notes"][0]
    assert "KEO Sophal" in batch.rows[0]["notes"][0]
    # The note names the row, the column as the file heads it and the value, like every message.
    assert batch.rows[0]["notes"][0].startswith("Row 2, column “")
    assert "023 880 880" in batch.rows[0]["notes"][0]
    apply_import(batch=batch, user=staff)
    assert Official.objects.count() == 3
    assert set(Official.objects.values_list("family_name", flat=True)) == {"Keo", "Sok", "Chan"}


def test_same_name_and_ministry_without_email_is_a_possible_duplicate_for_staff(ministries, preview, staff):
    """Guards against a name (with a ministry) taken as identity: it is only shown for a person to decide."""
    existing = official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    batch = preview("same.csv", data=(HEADER + "Sok,Dara,MISTI,,\n").encode())
    row = batch.rows[0]
    assert row["action"] == "decide"
    assert row["candidates"][0]["id"] == existing.pk
    assert row["candidates"][0]["why"].startswith("Possible duplicate: same name and ministry")
    assert row["create"]  # staff may also say it is someone new
    with pytest.raises(ImportRefused, match="Choose who is meant on lines 2"):
        apply_import(batch=batch, user=staff)


def test_a_row_matching_two_officials_of_one_name_links_to_merging_them(ministries, preview, staff_client):
    first = official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    second = official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    batch = preview("same.csv", data=(HEADER + "Sok,Dara,MISTI,,\n").encode())
    assert batch.rows[0]["action"] == "decide"
    assert {c["id"] for c in batch.rows[0]["candidates"]} == {first.pk, second.pk}
    page = staff_client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    candidates = batch.rows[0]["candidates"]
    link = f"{reverse('official_merge')}?survivor={candidates[0]['id']}&amp;other={candidates[1]['id']}"
    assert link in page and "compare them and merge them" in page


def test_name_ministry_and_phone_agreeing_are_enough_and_an_email_is_identity(ministries, preview):
    """Agreeing evidence (name, ministry and phone) finds the official; so does an e-mail in any case."""
    by_phone = official_create(
        family_name="Sok", given_name="Dara", ministry=ministries["misti"], phone="012345678"
    )
    by_email = official_create(
        family_name="Chan", given_name="Vuthy", ministry=ministries["mef"], email="Vuthy.Chan@mef.gov.kh"
    )
    data = (HEADER + "Sok,Dara,MISTI,,+855 12 345 678\nChan,Vuthy,MEF,VUTHY.CHAN@MEF.GOV.KH,\n").encode()
    batch = preview("known.csv", data=data)
    assert [row.get("official") for row in batch.rows] == [by_phone.pk, by_email.pk]


def test_an_id_column_identifies_the_official(ministries, preview):
    existing = official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    data = (
        f"Official ID,Family name,Given name,Ministry\n{existing.pk},Sok,Dara,MISTI\n99999,Chan,Vuthy,MEF\n"
    )
    batch = preview("ids.csv", data=data.encode())
    assert batch.rows[0]["official"] == existing.pk and batch.rows[0]["action"] == "skip"
    assert batch.rows[1]["action"] == "error" and batch.rows[1]["reason"] == (
        "Row 3, column “Official ID”, “99999”: no official has this ID. Correct the ID, or leave the "
        "cell empty."
    )


def test_skip_uncertain_names_every_skipped_row_in_the_output_and_the_import_record(
    staff, ministries, tmp_path, capsys
):
    """Guards against --skip-uncertain dropping rows without a word."""
    official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    path = tmp_path / "list.csv"
    path.write_text(HEADER + "Sok,Dara,MISTI,,\nKeo,Mony,MISTI,mony@misti.gov.kh,\n")
    call_command("import_officials", str(path), "--user", staff.username, "--skip-uncertain")
    out = capsys.readouterr().out
    assert "line 2 skipped as uncertain" in out and "SOK Dara" in out
    batch = ImportBatch.objects.latest("id")
    assert batch.status == ImportBatch.Status.APPLIED
    assert "line 2 skipped as uncertain" in batch.message
    assert Official.objects.filter(family_name="Keo").exists()


# --- spreadsheet values ------------------------------------------------------------------------


def test_a_formula_column_imports_its_saved_values(ministries, preview, staff):
    """Guards against data_only=False: =PROPER(E2) was stored as the name."""
    data = xlsx(
        [
            ["Family name", "Given name", "Ministry", "E-mail", "raw"],
            ["=PROPER(E2)", "Dara", "MISTI", "d@x.kh", "SOK"],
        ],
        cached={"A2": "Sok"},
    )
    batch = preview("formula.xlsx", data=data)
    assert batch.rows[0]["action"] == "create", batch.rows[0]["reason"]
    apply_import(batch=batch, user=staff)
    assert Official.objects.get().family_name == "Sok"


def test_a_formula_without_a_saved_value_is_a_row_error_naming_the_cell(ministries, preview):
    data = xlsx(
        [
            ["Family name", "Given name", "Ministry", "E-mail", "raw"],
            ["Keo", "Mony", "MISTI", "k@x.kh", ""],
            ["=PROPER(E3)", "Dara", "MISTI", "d@x.kh", "SOK"],
        ]
    )
    batch = preview("script.xlsx", data=data)
    assert actions(batch) == ["create", "error"]
    reason = batch.rows[1]["reason"]
    assert "Row 3, column “Family name” (cell A3)" in reason and "=PROPER(E3)" in reason
    assert "save it, and upload it again" in reason


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2020-02-25", "2020-02-25"),
        ("25/02/2020", "2020-02-25"),
        ("43886", "2020-02-25"),  # an Excel day serial, as a CSV export of a date column gives it
        ("២៥/០២/២០២០", "2020-02-25"),
        ("២៥ កុម្ភៈ ២០២០", "2020-02-25"),
        ("ថ្ងៃទី២៥ ខែកុម្ភៈ ឆ្នាំ២០២០", "2020-02-25"),
    ],
)
def test_dates_are_read_in_every_form_a_ministry_writes_them(text, expected):
    assert parse_date(text).isoformat() == expected


def test_an_ambiguous_date_follows_the_files_convention_and_the_preview_says_so(ministries, preview):
    course = CourseFactory()
    base = "Family name,Given name,Ministry,E-mail,Enrolled on\n"
    day_first = preview(
        "d.csv", kind="enrolments", course=course, data=(base + "Sok,Dara,MISTI,a@x.kh,03/04/2020\n").encode()
    )
    assert day_first.rows[0]["enrolled_on"] == "2020-04-03"
    assert "read as day/month/year" in day_first.message
    assert day_first.rows[0]["notes"][0] == (
        "Row 2, column “Enrolled on”, “03/04/2020”: read as 2020-04-03. If that is wrong, write the date "
        "as 2020-02-25."
    )
    month_first = preview(
        "m.csv",
        kind="enrolments",
        course=course,
        data=(base + "Sok,Dara,MISTI,a@x.kh,03/04/2020\nKeo,Mony,MISTI,b@x.kh,04/25/2020\n").encode(),
    )
    assert [row["enrolled_on"] for row in month_first.rows] == ["2020-03-04", "2020-04-25"]
    assert "month/day/year" in month_first.message


# --- repeated rows -------------------------------------------------------------------------------


def test_a_row_typed_twice_is_merged_with_a_note_and_the_file_imports(ministries, preview, staff):
    """Guards against a repeated row stopping the whole file."""
    data = (HEADER + "Sok,Dara,MISTI,d@x.kh,\nKeo,Mony,MISTI,k@x.kh,\nSok,Dara,MISTI,d@x.kh,\n").encode()
    batch = preview("twice.csv", data=data)
    assert actions(batch) == ["create", "create", "skip"]
    assert batch.rows[2]["reason"] == "Row 4 repeats row 2 exactly; it is imported once, from row 2."
    apply_import(batch=batch, user=staff)
    assert Official.objects.count() == 2


def test_a_repeated_person_with_other_details_is_one_row_error(ministries, preview):
    data = (HEADER + "Sok,Dara,MISTI,d@x.kh,\nKeo,Mony,MISTI,k@x.kh,\nSok,Dara,MISTI,D@X.KH,012 1\n").encode()
    batch = preview("again.csv", data=data)
    assert actions(batch) == ["create", "create", "error"]
    assert batch.counts["error"] == 1


# --- phones --------------------------------------------------------------------------------------


def test_khmer_digit_phones_match_latin_digit_ones_and_are_stored_in_one_form(ministries, preview, staff):
    """Guards against Khmer digits being dropped from phone numbers (they matched nothing)."""
    assert phone_key("០១២ ៣៤៥ ៦៧៨") == phone_key("+855 12 345 678") == "12345678"
    assert phone_canonical("+៨៥៥ ១២ ៣៤៥ ៦៧៨") == "+85512345678"
    assert phone_canonical("០១២ ៣៤៥ ៦៧៨") == "012345678"
    existing = official_create(
        family_name="Sok", given_name="Dara", ministry=ministries["misti"], phone="012345678"
    )
    data = (HEADER + "Sok,Dara,MISTI,,០១២ ៣៤៥ ៦៧៨\nKeo,Mony,MISTI,,+៨៥៥ ៩៧ ៧០០ ១០០២\n").encode()
    batch = preview("khmer-digits.csv", data=data)
    assert batch.rows[0]["official"] == existing.pk
    apply_import(batch=batch, user=staff)
    assert Official.objects.get(family_name="Keo").phone == "+855977001002"


def test_a_khmer_preview_of_a_sign_in_sheet_shows_no_english_status_words(ministries, preview, staff):
    course = CourseFactory()
    session = SessionFactory(course=course)
    official = official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    enrollment_create(official=official, course=course)
    with translation.override("km"):
        batch = preview(
            "sheet.csv", kind="attendance", session=session, data=b"Name,Status\nSOK Dara,present\n"
        )
    reason = batch.rows[0]["reason"]
    assert reason and not any("a" <= char.lower() <= "z" for char in reason), reason
    assert Attendance.objects.count() == 0 and Enrollment.objects.count() == 1


def test_an_update_names_the_changed_fields_as_the_file_does(ministries, preview):
    """Guards against stored keys (position, ministry) in the preview's sentences."""
    official_create(
        family_name="Sok", given_name="Dara", ministry=ministries["misti"], email="d@x.kh", position="Officer"
    )
    data = "នាមត្រកូល,នាមខ្លួន,ក្រសួង,អ៊ីមែល,មុខតំណែង\nSok,Dara,MEF,d@x.kh,Director\n".encode()
    reason = preview("km.csv", data=data).rows[0]["reason"]
    assert reason == "Matched an existing official; these fields change: មុខតំណែង, ក្រសួង."
