"""The attendance XLSX whose rows PostgreSQL writes (exports.copy_xlsx_rows) holds exactly what
the openpyxl path writes for the same rows: header, values, types, formats, frozen pane, sheet
name; hostile texts (XML specials, control characters, formulas) come back as the safe text they
are, never as a formula; and the worker writes it in a fixed number of queries."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from participants.models import ExportJob
from participants.reports import exports, jobs, tables
from participants.reports import figures as fig
from participants.reports.tasks import run_export
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    OfficialFactory,
    SessionFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HOSTILE = [
    # (family name, given name, name in Khmer, e-mail, phone)
    ("Chan", "Sreymom", "ចាន់ ស្រីមុំ", "chan@example.gov.kh", "+855 12 345 678"),
    ("Tom & Jerry <b>", "\"quoted\" 'single'", "កែវ & <ដារា>", "a@b.kh", ""),
    ("Bell\x07\x0bed", "Null\x01\x1fchars", "\x0c", "", "tab\tinside"),
    ('=HYPERLINK("http://evil.example","x")', "+cmd", "-1", "@SUM(A1)", "\tlead"),
    ("  spaced  ", "line\nbreak", "", "", "0123"),
    ("Khmer ស្រី", "]]>", "&amp;", "", "&#13;"),
]


@pytest.fixture
def hostile_world(postgres):
    course = CourseFactory(number=7, title="=cmd|' /C calc'!A0 & <Course>", title_km="វគ្គ <ខ្មែរ>")
    zone = timezone.get_current_timezone()
    sessions = [
        SessionFactory(
            course=course,
            title="Opening & <welcome>",
            title_km="",
            starts_at=datetime.datetime(2024, 1, 15, 8, 30, 45, tzinfo=datetime.UTC),
        ),
        SessionFactory(
            course=course,
            title="-2 sessions",
            title_km="វគ្គទី២",
            starts_at=datetime.datetime(2024, 12, 31, 23, 59, tzinfo=zone),
        ),
    ]
    for family, given, khmer, email, phone in HOSTILE:
        official = OfficialFactory(
            family_name=family, given_name=given, name_km=khmer, email=email, phone=phone
        )
        enrollment = EnrollmentFactory(official=official, course=course)
        for session in sessions:
            AttendanceFactory(enrollment=enrollment, session=session)
    return course


def _openpyxl_bytes(filters, contact: bool) -> bytes:
    output = io.BytesIO()
    columns = tables.attendance_columns(contact=contact)
    exports.xlsx_write(output, "Attendance", columns, tables.attendance_rows(filters, contact=contact))
    return output.getvalue()


def _postgres_bytes(filters, contact: bool) -> bytes:
    output = io.BytesIO()
    columns = tables.attendance_columns(contact=contact)
    exports.xlsx_write_rows_xml(
        output, "Attendance", columns, exports.copy_xlsx_rows(filters, contact=contact)
    )
    return output.getvalue()


def _cells(content: bytes) -> list[list[tuple]]:
    """Each cell's value, type, number format and boldness. An empty cell has no type to see
    (openpyxl reads its own empty text cells as "inlineStr", empty cells otherwise as "n")."""
    sheet = load_workbook(io.BytesIO(content)).active
    return [
        [
            (
                cell.value,
                cell.data_type if cell.value is not None else None,
                cell.number_format,
                bool(cell.font.b),
            )
            for cell in row
        ]
        for row in sheet.iter_rows()
    ]


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_sheet_postgres_writes_holds_what_openpyxl_writes(hostile_world, language):
    filters = fig.ReportFilters(course_id=hostile_world.pk)
    with translation.override(language):
        expected, produced = _openpyxl_bytes(filters, contact=True), _postgres_bytes(filters, contact=True)

    assert zipfile.ZipFile(io.BytesIO(produced)).testzip() is None
    assert _cells(produced) == _cells(expected)
    rows = _cells(produced)
    assert len(rows) == 1 + 2 * len(HOSTILE)
    assert all(bold for _value, _type, _format, bold in rows[0])
    assert not any(bold for row in rows[1:] for *_rest, bold in row)
    workbook = load_workbook(io.BytesIO(produced))
    assert workbook.sheetnames == ["Attendance"]
    assert workbook.active.freeze_panes == "B2"

    values = {cell[0] for row in rows for cell in row}
    # Formula-like texts stay text, quoted as safe_cell quotes them, in every column.
    assert '\'=HYPERLINK("http://evil.example","x")' in values and "'+cmd" in values
    assert "'-1" in values and "'@SUM(A1)" in values and "'\tlead" in values
    assert "Tom & Jerry <b>" in values and "\"quoted\" 'single'" in values and "]]>" in values
    assert "&amp;" in values and "&#13;" in values  # escaped once, not decoded
    assert "Belled" in values and "Nullchars" in values  # characters XML 1.0 forbids, removed
    assert "line\nbreak" in values and "  spaced  " in values
    title = "វគ្គ <ខ្មែរ>" if language == "km" else "'=cmd|' /C calc'!A0 & <Course>"
    assert title in values and rows[1][0] == (7, "n", "General", False)
    first_start = rows[1][3]
    assert first_start[:3] == (datetime.datetime(2024, 1, 15, 15, 30, 45), "d", "yyyy-mm-dd hh:mm")

    sheet_xml = zipfile.ZipFile(io.BytesIO(produced)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    assert 't="inlineStr"' in sheet_xml and 'xml:space="preserve"' in sheet_xml


def test_a_carriage_return_survives_as_itself(hostile_world):
    """openpyxl leaves a carriage return raw, which XML readers turn into a line feed; the
    server-written sheet writes it as a character reference, so it comes back as it was."""
    official = OfficialFactory(family_name="ret\rurn")
    enrollment = EnrollmentFactory(official=official, course=hostile_world)
    AttendanceFactory(enrollment=enrollment, session=hostile_world.sessions.order_by("id").first())
    rows = _cells(_postgres_bytes(fig.ReportFilters(course_id=hostile_world.pk), contact=False))
    assert "ret\rurn" in {cell[0] for row in rows for cell in row}


def test_an_empty_selection_is_a_sheet_with_its_header_only(hostile_world):
    filters = fig.ReportFilters(course_id=hostile_world.pk, date_from=datetime.date(2030, 1, 1))
    rows = _cells(_postgres_bytes(filters, contact=False))
    assert [value for value, *_rest in rows[0]] == [c.label for c in tables.attendance_columns(contact=False)]
    assert len(rows) == 1


def _run_job(user, course, django_assert_max_num_queries):
    job = ExportJob.objects.create(
        user=user,
        report="attendance",
        format="xlsx",
        filters={"course": str(course.pk)},
        file_name="x.xlsx",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    with django_assert_max_num_queries(12) as captured:
        run_export(job.pk)
    job.refresh_from_db()
    assert job.state == "done", job.reason
    return job, len(captured)


def test_the_worker_writes_it_in_the_same_queries_for_10_rows_as_for_1000(
    staff, settings, tmp_path, monkeypatch, django_assert_max_num_queries
):
    from tests.reports.test_export_queries import make_course

    settings.PCP_EXPORT_DIR = tmp_path
    monkeypatch.setattr(jobs, "REPORT_EVERY_SECONDS", 3600)
    monkeypatch.setattr(jobs, "REPORT_EVERY_ROWS", 10**9)
    small, large = make_course(sessions=1, enrolled=10), make_course(sessions=10, enrolled=100)
    few, few_queries = _run_job(staff, small, django_assert_max_num_queries)
    many, many_queries = _run_job(staff, large, django_assert_max_num_queries)
    assert few_queries == many_queries
    assert (few.rows_done, few.rows_total, many.rows_done, many.rows_total) == (10, 10, 1000, 1000)

    content = (tmp_path / many.path).read_bytes()
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 1000
    assert {row[5] for row in rows[1:]} == {"'=1+1"}  # the given name, formula-safe
    assert sheet_xml_has_no_formula(content)


def sheet_xml_has_no_formula(content: bytes) -> bool:
    return b"<f" not in zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")


def test_a_writer_failing_mid_sheet_stops_copy_and_fails_the_job(
    hostile_world, staff, settings, tmp_path, monkeypatch
):
    """The zip writer dies after the first chunk (a full disk, say): COPY is stopped, the
    partial file removed, the job failed with its reason, and the connection works on."""
    settings.PCP_EXPORT_DIR = tmp_path
    real, real_rows = exports.xlsx_write_rows_xml, exports.copy_xlsx_rows
    chunks = []

    def dies_after_a_chunk(output, title, columns, rows_xml, **kwargs):
        def first_then_fail():
            chunks.append(next(iter(rows_xml)))
            yield chunks[0]
            raise OSError("No space left on device")

        real(output, title, columns, first_then_fail(), **kwargs)

    monkeypatch.setattr(jobs.exports, "xlsx_write_rows_xml", dies_after_a_chunk)
    # Chunks of a row or two, so that COPY is still running when the writer dies.
    monkeypatch.setattr(jobs.exports, "copy_xlsx_rows", lambda *a, **k: real_rows(*a, **k, batch_bytes=100))
    job = ExportJob.objects.create(
        user=staff,
        report="attendance",
        format="xlsx",
        filters={"course": str(hostile_world.pk)},
        file_name="x.xlsx",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    run_export(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "unexpected error (OSError)" in job.reason
    assert not list(tmp_path.iterdir())
    assert chunks[0].count(b"\n") < 2 * len(HOSTILE)
    assert ExportJob.objects.filter(pk=job.pk, state="failed").count() == 1  # the connection is usable


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_copy_csv_from_the_same_columns_matches_the_python_csv(hostile_world, language):
    """The COPY CSV is derived from the same SQL columns: same cells as the Python CSV, Khmer
    titles in Khmer mode included."""
    filters = fig.ReportFilters(course_id=hostile_world.pk)
    with translation.override(language):
        headers = [column.label for column in tables.attendance_columns(contact=True)]
        python = "".join(exports.csv_lines(headers, tables.attendance_rows(filters, contact=True)))
        copied = b"".join(exports.copy_csv_chunks(filters, contact=True)).decode()
    # COPY quotes an empty text ("") where Python's csv writes nothing: both read as empty.
    assert list(csv.reader(io.StringIO(copied))) == list(csv.reader(io.StringIO(python)))
    assert ("វគ្គ <ខ្មែរ>" in copied) == (language == "km")
