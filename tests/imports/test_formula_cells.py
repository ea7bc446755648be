"""Cells starting with a spreadsheet formula trigger (pcp_portal.spreadsheets.FORMULA_TRIGGERS).

An import neither refuses nor alters such a cell: it is stored as the plain text it is, the
preview says so beside the row, and every export quotes it again. Leading white space (a tab,
a carriage return) is trimmed from every cell, and NUL refuses the whole file, so those three
triggers never start a stored value.
"""

from __future__ import annotations

import csv
import io

import pytest

from participants.imports.apply import apply_import
from participants.imports.files import error_report
from participants.imports.reading import ImportFileError
from participants.models import Attendance, Official
from participants.services import enrollment_create, official_create
from pcp_portal.spreadsheets import FORMULA_TRIGGERS
from tests.factories import CourseFactory, SessionFactory

KEPT_WITH_A_NOTE = ("=", "+", "-", "@")
TRIMMED = ("\t", "\r")
REFUSED = ("\x00",)
HEADER = ["Family name", "Given name", "Position", "Ministry", "Phone"]
KEPT = "a formula, kept as plain text and never run. Check it is what was meant."


def officials_csv(*rows: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def note(text: str, column: str, line: int = 2) -> str:
    return f"Row {line}, column “{column}”, “{text}”: {KEPT}"


def test_every_trigger_is_tested_here():
    assert sorted(KEPT_WITH_A_NOTE + TRIMMED + REFUSED) == sorted(FORMULA_TRIGGERS)


@pytest.mark.parametrize("trigger", KEPT_WITH_A_NOTE)
def test_a_position_starting_with_a_trigger_is_kept_as_text_noted_and_exported_quoted(
    ministries, preview, staff, trigger
):
    position = f"{trigger}SUM(A1:A9)"
    batch = preview("officials.csv", data=officials_csv(["Sok", "Dara", position, "MISTI", ""]))

    assert batch.rows[0]["action"] == "create"
    assert batch.rows[0]["notes"] == [note(position, "Position")]
    apply_import(batch=batch, user=staff)
    assert Official.objects.get().position == position
    batch.plan_rows.update(action="error")  # the error report is the import's export of what was typed
    assert f"'{position}" in error_report(batch).decode("utf-8-sig")


@pytest.mark.parametrize("trigger", KEPT_WITH_A_NOTE)
def test_a_name_starting_with_a_trigger_is_noted_a_negative_number_is_no_name(ministries, preview, trigger):
    batch = preview("officials.csv", data=officials_csv([f"{trigger}42", "Dara", "", "MISTI", ""]))

    assert batch.rows[0]["notes"] == [note(f"{trigger}42", "Family name")]


@pytest.mark.parametrize("trigger", TRIMMED)
def test_leading_tabs_and_carriage_returns_are_trimmed_so_they_start_nothing(
    ministries, preview, staff, trigger
):
    data = officials_csv(
        ["Sok", "Dara", f"{trigger}Director", "MISTI", ""], ["Chan", "Vuthy", f"{trigger}=1+1", "MEF", ""]
    )
    batch = preview("officials.csv", data=data)

    assert [row["notes"] for row in batch.rows] == [
        [],
        [note("=1+1", "Position", line=batch.rows[1]["line"])],
    ]
    apply_import(batch=batch, user=staff)
    assert sorted(Official.objects.values_list("position", flat=True)) == ["=1+1", "Director"]


@pytest.mark.parametrize("trigger", REFUSED)
@pytest.mark.parametrize("filler_rows", [0, 3000], ids=["first line", "past the first 64 KB"])
def test_a_csv_with_a_nul_cell_is_refused_as_binary_wherever_it_stands(
    ministries, preview, trigger, filler_rows
):
    filler = [[f"Filler{n}", "Person", "Officer", "MISTI", ""] for n in range(filler_rows)]
    data = officials_csv(*filler, ["Sok", "Dara", f"{trigger}Director", "MISTI", ""])
    assert len(data) > 65536 or not filler_rows

    with pytest.raises(ImportFileError, match="contains binary data"):
        preview("officials.csv", data=data)
    assert not Official.objects.exists()


@pytest.mark.parametrize("phone", ["+855 12 345 678", "+855-12-345-678", "-", "012 345 678"])
def test_a_phone_number_in_international_form_is_no_formula(ministries, preview, phone):
    batch = preview("officials.csv", data=officials_csv(["Sok", "Dara", "", "MISTI", phone]))

    assert batch.rows[0]["notes"] == []


def test_a_phone_cell_holding_a_formula_is_noted(ministries, preview):
    batch = preview("officials.csv", data=officials_csv(["Sok", "Dara", "", "MISTI", "+HYPERLINK(A1)"]))

    assert batch.rows[0]["notes"] == [note("+HYPERLINK(A1)", "Phone")]


@pytest.fixture
def session(ministries):
    course = CourseFactory(title="Industrial policy")
    official = official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    enrollment_create(official=official, course=course)
    return SessionFactory(course=course)


@pytest.mark.parametrize("trigger", KEPT_WITH_A_NOTE)
def test_an_attendance_note_starting_with_a_trigger_is_kept_as_text_and_noted(
    preview, staff, session, trigger
):
    text = f"{trigger} left at 11:00"
    data = f"Name,Status,Note\nSOK Dara,present,{text}\n".encode()
    batch = preview("sheet.csv", kind="attendance", data=data, session=session)

    assert batch.rows[0]["action"] == "create"
    assert batch.rows[0]["notes"] == [note(text, "Note")]
    apply_import(batch=batch, user=staff)
    assert Attendance.objects.get().note == text


def test_an_attendance_note_over_the_limit_is_a_row_error(preview, session):
    data = f"Name,Status,Note\nSOK Dara,present,{'x' * (Attendance.NOTE_MAX_LENGTH + 1)}\n".encode()
    batch = preview("sheet.csv", kind="attendance", data=data, session=session)

    assert batch.rows[0]["action"] == "error"
    assert batch.rows[0]["reason"] == (
        f"Row 2, column “Note”, “{'x' * 60}…”: longer than {Attendance.NOTE_MAX_LENGTH} characters. "
        "Shorten it."
    )
