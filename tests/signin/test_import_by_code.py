"""The filled sheet comes back: its template, and the import that marks exactly the rows whose
codes were typed (nothing written before the confirmation, nothing at all if a row is wrong)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from participants import signin
from participants.imports.apply import ImportRefused, apply_import
from participants.imports.plan import preview_import
from participants.models import Attendance, ImportBatch, SignInCode
from participants.services import enrollment_create, enrollment_withdraw, official_create
from tests.factories import SessionFactory
from tests.imports.conftest import run_import_tasks
from tests.signin.conftest import PEOPLE, enrolment_of, make_session

HEADER = "Row code,Status,Note,Family name,Given name,Name in Khmer,Ministry,Phone,E-mail"


def sheet_file(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def preview(session, staff, data: bytes, name: str = "sheet.csv") -> ImportBatch:
    return preview_import(kind="signin", filename=name, data=data, user=staff, session=session)


# --- row codes ---------------------------------------------------------------------------------


def test_each_official_gets_a_short_unambiguous_code_that_stays_the_same(sheet_session):
    first = {row.official.pk: row.code for row in signin.sheet_rows(sheet_session)}
    again = {row.official.pk: row.code for row in signin.sheet_rows(sheet_session)}
    assert first == again
    assert len(set(first.values())) == len(first) == len(PEOPLE)
    for code in first.values():
        assert len(code) == signin.CODE_LENGTH and set(code) <= set(signin.ALPHABET)
        assert not set(code) & set("0O1IL2Z5S8B6GAEU")
    assert SignInCode.objects.filter(session=sheet_session).count() == len(PEOPLE)


def test_an_official_enrolled_after_the_first_print_gets_a_code_and_the_others_keep_theirs(
    sheet_session, ministries
):
    before = {row.official.pk: row.code for row in signin.sheet_rows(sheet_session)}
    late = official_create(family_name="Nhem", given_name="Bopha", ministry=ministries["mef"])
    enrollment_create(official=late, course=sheet_session.course)
    after = {row.official.pk: row.code for row in signin.sheet_rows(sheet_session)}
    assert {pk: code for pk, code in after.items() if pk != late.pk} == before
    assert after[late.pk] not in before.values()


def test_the_same_official_has_another_code_at_another_session_of_the_course(sheet_session):
    other = SessionFactory(course=sheet_session.course, title="Day two")
    here = {row.official.pk: row.code for row in signin.sheet_rows(sheet_session)}
    there = {row.official.pk: row.code for row in signin.sheet_rows(other)}
    assert here.keys() == there.keys()
    assert not set(here.values()) & set(there.values())


def test_codes_already_taken_elsewhere_are_drawn_again(sheet_session, monkeypatch):
    other = SessionFactory(course=sheet_session.course, title="Collision")
    taken = signin.sheet_rows(other)[0].code
    drawn = iter([taken] + [f"{c}CCCC" for c in "DFHJKMNPRTVWXY"])
    monkeypatch.setattr(signin, "_new_code", lambda: next(drawn))
    codes = {row.code for row in signin.sheet_rows(sheet_session)}
    assert taken not in codes and len(codes) == len(PEOPLE)


# --- the template -------------------------------------------------------------------------------


def test_the_template_holds_every_code_and_name_with_the_status_left_to_type(
    staff_client, sheet_session, codes
):
    response = staff_client.get(f"/sessions/{sheet_session.pk}/sign-in-sheet.csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="pcp-sign-in-sheet-session-{sheet_session.pk}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Row code / លេខកូដជួរ", "Status / វត្តមាន", "Note / កំណត់សម្គាល់"]
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == set(codes.values())
    assert by_code[codes["Sok"]][1:6] == ["", "", "Sok", "Dara", "សុខ ដារ៉ា"]
    assert by_code[codes["Sok"]][6] == "MISTI"  # the ministry as named on the session's day
    assert by_code[codes["ហេង សុភ័ក្ត្រ"]][5] == "ហេង សុភ័ក្ត្រ"


def test_the_excel_template_has_the_same_rows_and_a_help_sheet(staff_client, sheet_session, codes):
    response = staff_client.get(f"/sessions/{sheet_session.pk}/sign-in-sheet.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == set(codes.values())
    assert [row[1] for row in workbook.worksheets[1].iter_rows(min_row=2, max_row=5, values_only=True)] == [
        "P",
        "L",
        "E",
        "A",
    ]


def test_the_template_is_for_editors_only_and_the_pdf_for_every_reader(officer_client, sheet_session):
    assert officer_client.get(f"/sessions/{sheet_session.pk}/sign-in-sheet.csv").status_code == 403
    response = officer_client.get(f"/sessions/{sheet_session.pk}/sign-in-sheet.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_an_unknown_template_format_is_not_found(staff_client, sheet_session):
    assert staff_client.get(f"/sessions/{sheet_session.pk}/sign-in-sheet.ods").status_code == 404


# --- the import ---------------------------------------------------------------------------------


def test_the_typed_codes_mark_exactly_those_officials(staff, sheet_session, codes):
    data = sheet_file(
        [
            f"{codes['Sok']},P,,Sok,Dara,,MISTI,,",
            f"{codes['Chan']},,,Chan,Vuthy,,MEF,,",  # left blank on the paper
            # The names typed beside a code are not read: the code alone says who.
            f"{codes['ហេង សុភ័ក្ត្រ']},late,arrived 9:10,Somebody,Else,,MEF,,",
            f" {codes['Keo'].lower()} ,absent,,,,,,,",
        ]
    )
    batch = preview(sheet_session, staff, data)
    assert [row["action"] for row in batch.rows] == ["create", "skip", "create", "create"]
    assert batch.rows[1]["reason"] == "No status typed for this row: left as it is."
    assert batch.rows[2]["label"].startswith(codes["ហេង សុភ័ក្ត្រ"])
    assert not Attendance.objects.exists()  # a preview writes nothing
    apply_import(batch=batch, user=staff)
    marked = {
        a.enrollment.official.family_name or a.enrollment.official.name_km: (a.status, a.note)
        for a in Attendance.objects.select_related("enrollment__official")
    }
    assert marked == {
        "Sok": ("present", ""),
        "ហេង សុភ័ក្ត្រ": ("late", "arrived 9:10"),
        "Keo": ("absent", ""),
    }
    assert set(Attendance.history.values_list("history_user", flat=True)) == {staff.pk}
    assert Attendance.history.count() == 3


def test_typing_the_same_sheet_again_changes_nothing(staff, sheet_session, codes):
    data = sheet_file([f"{codes['Sok']},P,,,,,,,"])
    apply_import(batch=preview(sheet_session, staff, data), user=staff)
    again = preview(sheet_session, staff, data, name="again.csv")
    assert [row["action"] for row in again.rows] == ["skip"]
    assert again.rows[0]["reason"] == "Already recorded as Present."


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "NOPE7,P,,,,,,,",
            "Row 3, column “Row code”, “NOPE7”: this row code is not on this session's sign-in sheet. "
            "Check it on the paper.",
        ),
        (
            "{sok},maybe,,,,,,,",
            "Row 3, column “Status”, “maybe”: not understood. Write present, late, excused or absent.",
        ),
    ],
)
def test_a_bad_row_is_an_error_in_the_preview_and_nothing_is_written(
    staff, sheet_session, codes, line, reason
):
    data = sheet_file([f"{codes['Chan']},P,,,,,,,", line.format(sok=codes["Sok"])])
    batch = preview(sheet_session, staff, data)
    assert batch.rows[0]["action"] == "create"
    assert (batch.rows[1]["action"], batch.rows[1]["reason"]) == ("error", reason)
    with pytest.raises(ImportRefused):
        apply_import(batch=batch, user=staff)
    assert not Attendance.objects.exists()


def test_the_same_code_twice_is_an_error(staff, sheet_session, codes):
    batch = preview(
        sheet_session, staff, sheet_file([f"{codes['Sok']},P,,,,,,,", f"{codes['Sok']},P,,,,,,,"])
    )
    assert batch.rows[1]["action"] == "error"
    assert batch.rows[1]["reason"] == (
        f"Row 3, column “Row code”, “{codes['Sok']}”: this row code is also on row 2. Keep one of the "
        "two rows."
    )
    with pytest.raises(ImportRefused):
        apply_import(batch=batch, user=staff)
    assert not Attendance.objects.exists()


def test_a_code_from_another_sessions_sheet_is_an_error_naming_that_session(
    staff, sheet_session, ministries, codes
):
    other = make_session(ministries, PEOPLE[:1], title="Another course's day")
    foreign = signin.sheet_rows(other)[0].code
    batch = preview(sheet_session, staff, sheet_file([f"{codes['Chan']},P,,,,,,,", f"{foreign},P,,,,,,,"]))
    assert batch.rows[1]["action"] == "error"
    assert batch.rows[1]["reason"] == (
        f"Row 3, column “Row code”, “{foreign}”: this row code is from the sign-in sheet of another "
        f"session, {other}. Import that sheet into its own session."
    )
    with pytest.raises(ImportRefused):
        apply_import(batch=batch, user=staff)
    assert not Attendance.objects.exists()


def test_a_code_of_an_official_withdrawn_since_printing_is_an_error(staff, sheet_session, codes):
    enrollment_withdraw(enrollment=enrolment_of(sheet_session, "Lim"), reason="left the ministry")
    batch = preview(sheet_session, staff, sheet_file([f"{codes['Lim']},P,,,,,,,"]))
    assert batch.rows[0]["action"] == "error"
    assert "withdrawn" in batch.rows[0]["reason"]


# --- walk-ins -----------------------------------------------------------------------------------


def test_a_walk_in_row_without_a_code_goes_through_the_usual_matching(
    staff, sheet_session, ministries, codes
):
    late = official_create(
        family_name="Nhem", given_name="Bopha", ministry=ministries["mef"], email="bopha@mef.gov.kh"
    )
    enrollment_create(official=late, course=sheet_session.course)  # enrolled after the sheet was printed
    data = sheet_file(
        [
            f"{codes['Sok']},P,,,,,,,",
            ",P,,,,,MEF,,bopha@mef.gov.kh",  # matched by e-mail among the enrolled
            ",L,,Outside,Person,,MEF,012 555 111,",  # enrolled nowhere
            ",P,,Sok,Dara,,MISTI,,",  # the same person as the coded row
        ]
    )
    batch = preview(sheet_session, staff, data)
    assert [row["action"] for row in batch.rows] == ["create", "create", "error", "error"]
    assert batch.rows[1]["official"] == late.pk
    assert batch.rows[2]["reason"] == (
        "Row 4, column “Family name / Given name”, “Outside Person”: no official enrolled in this course "
        "matches. Correct the name or the e-mail."
    )
    assert batch.rows[3]["reason"] == (
        "Row 5, column “Family name / Given name”, “Sok Dara”: the same person as on row 2. Keep one of "
        "the two rows."
    )
    with pytest.raises(ImportRefused):
        apply_import(batch=batch, user=staff)
    assert not Attendance.objects.exists()
    fixed = preview(sheet_session, staff, sheet_file(data.decode().splitlines()[1:3]), name="fixed.csv")
    apply_import(batch=fixed, user=staff)
    assert set(Attendance.objects.values_list("enrollment__official__family_name", flat=True)) == {
        "Sok",
        "Nhem",
    }


def test_the_upload_page_offers_the_session_and_previews_the_sheet(staff_client, sheet_session, codes):
    page = staff_client.get(f"/imports/signin/new/?session={sheet_session.pk}")
    assert f'<option value="{sheet_session.pk}" selected>' in page.content.decode()
    upload = io.BytesIO(sheet_file([f"{codes['Sok']},P,,,,,,,"]))
    upload.name = "sheet.csv"
    response = staff_client.post("/imports/signin/new/", {"session": sheet_session.pk, "file": upload})
    run_import_tasks()  # what the imports' worker does with it
    text = staff_client.get(response["Location"]).content.decode()
    assert "Printed sign-in sheet of a session (by row code)" in text
    assert f"{codes['Sok']} · SOK Dara" in text
    assert not Attendance.objects.exists()
