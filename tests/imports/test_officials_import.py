"""Importing officials: preview first, then exactly the previewed plan, audited, idempotent."""

from __future__ import annotations

import unicodedata

import pytest

from participants.imports.apply import ImportRefused, apply_import
from participants.imports.files import error_report
from participants.models import ImportBatch, Official
from participants.services import official_create
from tests.factories import OfficialFactory
from tests.imports.conftest import file_bytes

NO_MINISTRY = "no ministry of this name. Write its name or acronym as on the Ministries page."


def actions(batch) -> list[str]:
    return [row["action"] for row in batch.rows]


def test_a_clean_file_is_previewed_without_writing_anything(ministries, preview):
    batch = preview("officials_clean.csv")
    assert actions(batch) == ["create"] * 5
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert batch.counts["create"] == 5
    assert len(batch.checksum) == 64
    assert Official.objects.count() == 0


def test_confirming_creates_the_officials_with_ministries_in_either_script(ministries, preview, staff):
    batch = apply_import(batch=preview("officials_clean.csv"), user=staff)
    assert batch.status == ImportBatch.Status.APPLIED and batch.applied_by == staff
    assert batch.counts["applied"] == {"created": 5, "updated": 0, "skipped": 0}
    dara = Official.objects.get(email="dara.sok@misti.gov.kh")
    assert (dara.family_name, dara.name_km, dara.sex, dara.ministry) == (
        "Sok",
        "សុខ ដារ៉ា",
        "female",
        ministries["misti"],
    )
    assert Official.objects.get(family_name="Lim").ministry == ministries["misti"]  # Khmer name of MISTI
    assert Official.objects.get(family_name="Heng").ministry == ministries["misti"]  # former acronym MIH
    assert Official.objects.get(family_name="Keo").ministry == ministries["moc"]  # English name
    assert Official.objects.get(family_name="Lim").sex == "female"  # ស្រី


def test_every_imported_official_has_a_history_entry_by_the_importer(ministries, preview, staff):
    apply_import(batch=preview("officials_clean.csv"), user=staff)
    history = Official.history.filter(history_type="+")
    assert history.count() == 5
    assert set(history.values_list("history_user", flat=True)) == {staff.pk}


def test_the_same_file_imported_twice_changes_nothing_the_second_time(ministries, preview, staff):
    apply_import(batch=preview("officials_clean.csv"), user=staff)
    history_before = Official.history.count()
    again = preview("officials_clean.csv")
    assert actions(again) == ["skip"] * 5
    assert "already imported" in again.message
    # The very same bytes: refused, pointing at the earlier import; nothing written.
    with pytest.raises(ImportRefused, match=r"the same file was already imported \(import #"):
        apply_import(batch=again, user=staff)
    again.refresh_from_db()
    assert again.status == ImportBatch.Status.FAILED
    # The same rows in a file saved again (another checksum): applied, and they change nothing.
    resaved = preview("officials_clean.csv", data=file_bytes("officials_clean.csv") + b"\n")
    assert actions(resaved) == ["skip"] * 5
    apply_import(batch=resaved, user=staff)
    assert Official.objects.count() == 5
    assert Official.history.count() == history_before


def test_a_bom_semicolon_file_with_khmer_headers_imports(ministries, preview, staff):
    apply_import(batch=preview("officials_bom_semicolon.csv"), user=staff)
    sopheap = Official.objects.get(email="sopheap.sao@misti.gov.kh")
    assert sopheap.position == "Director, Department of SMEs"
    assert sopheap.name_km == "សៅ សុភាព"
    assert Official.objects.get(family_name="Ouk").ministry == ministries["mef"]


def test_one_bad_row_among_two_hundred_good_ones_imports_nothing_and_reports_the_row(
    ministries, preview, staff
):
    batch = preview("officials_200_good_1_bad.csv")
    assert batch.counts["create"] == 200 and batch.counts["error"] == 1
    bad = next(row for row in batch.rows if row["action"] == "error")
    assert bad["line"] == 151  # data row 150, after the header
    assert bad["reason"] == f"Row 151, column “Ministry”, “Ministry of Magic”: {NO_MINISTRY}"
    with pytest.raises(ImportRefused) as refusal:
        apply_import(batch=batch, user=staff)
    assert "lines 151" in refusal.value.message
    assert Official.objects.count() == 0
    report = error_report(batch).decode("utf-8-sig")
    assert f'151,error,"Row 151, column “Ministry”, “Ministry of Magic”: {NO_MINISTRY}"' in report
    assert report.count("\n") == 2


def test_khmer_names_in_other_unicode_compositions_match_the_existing_officials(ministries, preview, staff):
    misti, mef = ministries["misti"], ministries["mef"]
    existing = [
        official_create(family_name="Chan", given_name="Sophea", name_km="ចាន់ សោភា", ministry=misti),
        official_create(family_name="Sok", given_name="Sina", name_km="សុខ ស៊ីណា", ministry=misti),
        official_create(family_name="Ngo", given_name="Thida", name_km="ង\u17d2\u17ddគ ធីតា", ministry=misti),
        official_create(family_name="Nguyễn", given_name="Thị Ánh", ministry=mef),
    ]
    assert unicodedata.normalize("NFC", "ង\u17dd\u17d2គ") == "ង\u17d2\u17ddគ"
    batch = preview("officials_khmer_compositions.csv")
    # A name and a ministry are evidence, not identity: each row is offered as exactly the existing
    # official it names (whatever its composition), for staff to confirm; choosing them changes nothing.
    assert actions(batch) == ["decide"] * 4, [row["reason"] for row in batch.rows]
    assert [[c["id"] for c in row["candidates"]] for row in batch.rows] == [[o.pk] for o in existing]
    decisions = {index: str(o.pk) for index, o in enumerate(existing)}
    applied = apply_import(batch=batch, user=staff, decisions=decisions)
    assert applied.counts["applied"] == {"created": 0, "updated": 0, "skipped": 4}
    assert Official.objects.count() == 4


def test_the_same_khmer_name_twice_in_one_file_is_a_duplicate_row(ministries, preview):
    data = (
        "Family name,Given name,Name in Khmer,Ministry\n"
        "Chan,Sophea,ចាន់ សោភា,MISTI\n"
        ",,ចាន់ ស\u17c1\u17b6ភា,MISTI\n"  # the same name, ោ typed as េ + ា
    ).encode()
    batch = preview("dupes.csv", data=data)
    assert actions(batch) == ["create", "error"]
    assert batch.rows[1]["reason"] == (
        "Row 3, column “Name in Khmer”, “ចាន់ ស\u17c1\u17b6ភា”: the same person as on row 2. "
        "Keep one of the two rows."
    )


def test_a_formula_cell_is_stored_as_text_and_exported_as_text(ministries, preview, staff):
    batch = preview("officials_formula.xlsx")
    formula = '=HYPERLINK("http://evil.example/x","Director")'
    [said] = batch.rows[0]["notes"]
    assert said.startswith("Row 2, column “")
    assert said.endswith(
        f"”, “{formula}”: a formula, kept as plain text and never run. Check it is what was meant."
    )
    apply_import(batch=batch, user=staff)
    assert Official.objects.get().position == formula
    batch.plan_rows.update(action="error")  # the error report is the import's export of what was typed
    assert f"'{formula}".replace('"', '""') in error_report(batch).decode("utf-8-sig")


def test_row_errors_say_what_is_wrong(ministries, preview, staff):
    OfficialFactory(email="taken@misti.gov.kh", family_name="Other", given_name="Person", name_km="")
    data = (
        b"Family name,Given name,Ministry,E-mail,Sex,Preferred language\n"
        b"Sok,Dara,Nowhere,,,\n"
        b"Sok,Dara,MISTI,not-an-email,,\n"
        b"Sok,Dara,MISTI,taken@misti.gov.kh,,\n"
        b"Sok,Dara,MISTI,,robot,\n"
        b"Sok,Dara,MISTI,,,fr\n"
        b",,MISTI,,,\n"
    )
    reasons = [row["reason"] for row in preview("errors.csv", data=data).rows]
    # The row, the column as the file names it, the value read, and what to do.
    assert reasons[0] == f"Row 2, column “Ministry”, “Nowhere”: {NO_MINISTRY}"
    assert reasons[1] == (
        "Row 3, column “E-mail”, “not-an-email”: not a valid e-mail address. Correct it, or leave the "
        "cell empty."
    )
    assert reasons[2].startswith(
        "Row 4, column “E-mail”, “taken@misti.gov.kh”: this e-mail is already used by another official, "
        "OTHER Person"
    )
    assert reasons[3] == "Row 5, column “Sex”, “robot”: not understood. Write female, male or other."
    assert reasons[4] == "Row 6, column “Preferred language”, “fr”: not understood. Write km or en."
    assert reasons[5] == (
        "Row 7, column “Family name / Given name”, “”: no name. Give the family and given names, or the "
        "full name in Khmer."
    )


def test_a_match_by_phone_updates_only_the_fields_that_changed(ministries, preview, staff):
    official = official_create(
        family_name="Sok",
        given_name="Dara",
        ministry=ministries["misti"],
        phone="012 345 678",
        position="Officer",
    )
    data = "Family name,Given name,Ministry,Phone,Position\nSok,Dara,MISTI,+855 12 345 678,Deputy Director\n"
    batch = preview("update.csv", data=data.encode())
    assert batch.rows[0]["action"] == "update"
    assert batch.rows[0]["changes"] == {"position": ["Officer", "Deputy Director"]}
    apply_import(batch=batch, user=staff)
    official.refresh_from_db()
    assert official.position == "Deputy Director" and official.phone == "012 345 678"
    assert official.history.first().history_user == staff


def test_an_uncertain_match_is_shown_to_decide_and_never_merged_silently(ministries, preview, staff):
    existing = official_create(family_name="Sok", given_name="Dara", ministry=ministries["mef"])
    data = b"Family name,Given name,Ministry\nSok,Dara,MISTI\n"
    batch = preview("same-name.csv", data=data)
    row = batch.rows[0]
    assert row["action"] == "decide"
    assert row["candidates"][0]["id"] == existing.pk
    assert row["candidates"][0]["why"] == "Same name, another ministry."
    with pytest.raises(ImportRefused, match="Choose who is meant on lines 2"):
        apply_import(batch=batch, user=staff)
    assert Official.objects.count() == 1
    apply_import(batch=batch, user=staff, decisions={0: "new"})
    assert Official.objects.filter(family_name="Sok").count() == 2


def test_choosing_the_existing_person_updates_them(ministries, preview, staff):
    existing = official_create(family_name="Sok", given_name="Dara", ministry=ministries["mef"])
    batch = preview("same-name.csv", data=b"Family name,Given name,Ministry\nSok,Dara,MISTI\n")
    apply_import(batch=batch, user=staff, decisions={0: str(existing.pk)})
    existing.refresh_from_db()
    assert existing.ministry == ministries["misti"]
    assert Official.objects.count() == 1


def test_a_change_made_after_the_preview_rolls_back_the_whole_import(ministries, preview, staff):
    official = official_create(
        family_name="Sok", given_name="Dara", ministry=ministries["misti"], email="d@x.kh"
    )
    data = (
        b"Family name,Given name,Ministry,E-mail,Position\n"
        b"New,Person,MISTI,new@x.kh,Officer\n"
        b"Sok,Dara,MISTI,d@x.kh,Director\n"
    )
    batch = preview("stale.csv", data=data)
    official_update_elsewhere = Official.objects.get(pk=official.pk)
    official_update_elsewhere.position = "Minister"
    official_update_elsewhere.save()
    with pytest.raises(ImportRefused, match="changed since the preview"):
        apply_import(batch=batch, user=staff)
    assert not Official.objects.filter(email="new@x.kh").exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED


def test_an_applied_import_cannot_be_applied_again(ministries, preview, staff):
    batch = apply_import(batch=preview("officials_clean.csv"), user=staff)
    with pytest.raises(ImportRefused, match="already applied"):
        apply_import(batch=batch, user=staff)
    assert Official.objects.count() == 5
