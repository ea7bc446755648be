"""The same figures on the page, in the CSV, the XLSX, the PDF text and the API; bad input refused."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from participants.certificates import certificate_lookup, certificates_issue_for_course
from participants.models import Certificate
from pcp_portal.models import APIAccessKey
from tests.conftest import require

pytestmark = pytest.mark.django_db
OUT = Path(__file__).resolve().parents[2] / "var" / "reports"


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _total_row(rows):
    return next(row for row in rows if row and row[0] == "All courses")


def test_programme_page_shows_the_hand_counted_figures(world, officer_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        response = officer_client.get("/reports/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="fig-sessions-held">6<' in page
    assert 'id="fig-ministries">2<' in page
    assert "56.2 %" in page  # attendance 9/16
    assert "60.0 %" in page  # completion 3/5
    # Each figure says what it counts: people, enrolments or attendances.
    assert "4 officials · 5 enrolments · 3 course completions" in page
    assert "Course completions (enrolments)" in page and "Officials enrolled (people)" in page
    assert "<dt>held_session</dt>" not in page and "<dt>Held session</dt>" in page
    assert 'id="chart-women-share-per-course"' in page and "<svg" in page
    assert " style=" not in page and "<script>" not in page.split("</header>")[1].split("<footer")[0]


def test_the_csv_xlsx_pdf_and_api_carry_the_same_total(world, officer_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        rows = _csv(officer_client.get("/reports/export/programme.csv"))
    total = _total_row(rows)
    header = rows[0]
    assert header[0].lstrip("\ufeff") == "Course"
    column = {name: index for index, name in enumerate(header)}
    assert total[column["Officials (people): women"]] == "2"
    assert total[column["Officials (people): total"]] == "4"
    assert total[column["Course completions (enrolments): women"]] == "3"
    assert total[column["Attendances (sessions attended)"]] == "9"
    assert total[column["Attendance rate (attendances)"]] == "0.5625"

    with django_assert_max_num_queries(12):
        response = officer_client.get("/reports/export/programme.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.freeze_panes == "B2"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    xlsx_total = next(row for row in values if row[0] == "All courses")
    assert xlsx_total[column["Officials (people): total"]] == 4  # a number, not text
    assert xlsx_total[column["Attendance rate (attendances)"]] == pytest.approx(0.5625)

    response = officer_client.get("/reports/export/programme.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="pcp-programme-')
    text = _pdf_text(response.content, "programme")
    assert "56.3 %" in text or "56.2 %" in text
    assert "60.0 %" in text

    api = officer_client.get("/api/v1/reports/attendance-summary/?group_by=course")
    assert api.status_code == 200
    body = api.json()
    assert body["total"]["officials"]["total"] == 4
    assert body["total"]["attendance_rate"] == 0.5625
    assert body["total"]["completed"]["women"] == 3
    assert [group["attended_sessions"] for group in body["groups"]] == [8, 1]


def _pdf_text(content: bytes, name: str) -> str:
    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils)")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60
    ).stdout


def _png(content: bytes, name: str) -> Path:
    require(shutil.which("pdftoppm") is not None, "needs pdftoppm (poppler-utils)")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.pdf"
    path.write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(OUT / name)],
        timeout=60,
        check=True,
    )
    return next(OUT.glob(f"{name}*.png"))


def test_ministry_page_groups_the_renamed_ministry_under_its_names_at_the_time(world, officer_client):
    page = officer_client.get("/reports/ministries/").content.decode()
    assert "Ministry of Industry and Handicraft" in page and "MISTI" in page
    assert 'id="chart-officials-per-ministry"' in page
    rows = _csv(officer_client.get("/reports/export/ministries.csv"))
    assert (
        sum(1 for row in rows if row[0].startswith("Ministry of Industry, Science")) == 3
    )  # total + 2 names


def test_session_page_and_course_matrix(world, staff_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        page = staff_client.get("/reports/sessions/").content.decode()
    assert 'id="chart-attendance-per-session"' in page
    with django_assert_max_num_queries(16):
        response = staff_client.get(f"/reports/courses/{world['a'].pk}/")
    page = response.content.decode()
    assert "CHAN Sreymom" in page and "ចាន់ ស្រីមុំ" in page
    assert "75.0 %" in page  # o1: 3 of 4
    assert "Touch" not in page  # withdrawn


def test_course_export_neutralises_formulas_and_escapes_markup(world, officer_client):
    query = f"?course={world['b'].pk}"
    rows = _csv(officer_client.get(f"/reports/export/course.csv{query}"))
    names = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(1) <script>x</script>" in names
    assert "E-mail" not in rows[0]  # contact details only when asked for
    workbook = load_workbook(
        io.BytesIO(b"".join(officer_client.get(f"/reports/export/course.xlsx{query}").streaming_content))
    )
    cells = [cell.value for row in workbook.active.iter_rows() for cell in row]
    assert "'=HYPERLINK(1) <script>x</script>" in cells
    text = _pdf_text(officer_client.get(f"/reports/export/course.pdf{query}").content, "course-b")
    assert "<script>x</" in text.replace("\n", "")  # shown as text (a narrow column wraps it), not run


def test_contact_details_only_on_request_and_for_roles_that_may_see_them(world, officer_client):
    rows = _csv(officer_client.get(f"/reports/export/course.csv?course={world['a'].pk}&contact=1"))
    assert "E-mail" in rows[0]


def test_attendance_rows_export_streams_every_held_row(world, officer_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        rows = _csv(officer_client.get("/reports/export/attendance.csv"))
    assert len(rows) == 1 + 12 + 2  # course A: 3 × 4, course B: o3 × 2 (withdrawn and future left out)
    statuses = [row[10] for row in rows[1:]]
    assert statuses.count("present") + statuses.count("late") == 9


def test_an_empty_selection_exports_a_header_and_no_rows(world, officer_client):
    rows = _csv(officer_client.get("/reports/export/attendance.csv?date_from=2030-01-01"))
    assert len(rows) == 1 and rows[0][1] == "Course"
    workbook = load_workbook(
        io.BytesIO(
            b"".join(
                officer_client.get("/reports/export/sessions.xlsx?date_from=2030-01-01").streaming_content
            )
        )
    )
    assert workbook.active.max_row == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?date_from=2021-03-04&date_to=2021-03-01", "ends (2021-03-01) before it starts (2021-03-04)"),
        ("?course=999999", "There is no course with this id."),
        ("?ministry=999999", "There is no ministry with this id."),
        ("?date_from=yesterday", "Give the first day as YYYY-MM-DD."),
        ("?name=../../etc/passwd", "no folders"),
    ],
)
def test_bad_input_gets_a_clear_message(world, officer_client, query, message):
    response = officer_client.get(f"/reports/export/programme.csv{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    if "name=" not in query:
        page = officer_client.get(f"/reports/{query}")
        assert page.status_code == 400 and message in page.content.decode()
        api = officer_client.get(f"/api/v1/reports/attendance-summary/{query}")
        assert api.status_code == 400 and message in api.content.decode()


@pytest.mark.parametrize("query", ["?date_from=", "?course=", "?group_by=", "?ministry=&date_to=2021-03-01"])
def test_the_summary_api_refuses_an_empty_parameter_rather_than_widen_the_figures(
    world, officer_client, query
):
    """A page's blank form field means "no filter"; an API call that names a parameter and gives it
    no value is a mistake, refused with the same words as every other API list."""
    name = query[1:].split("=")[0]
    response = officer_client.get(f"/api/v1/reports/attendance-summary/{query}")
    assert response.status_code == 400
    assert response.json()[name] == ["Give a value, or leave the parameter out."]


def test_file_names_say_what_and_when(world, officer_client):
    response = officer_client.get(f"/reports/export/sessions.csv?course={world['a'].pk}")
    assert f'filename="pcp-sessions-course-{world["a"].pk}-' in response["Content-Disposition"]
    response = officer_client.get("/reports/export/sessions.csv?name=donor-report-2021")
    assert 'filename="donor-report-2021.csv"' in response["Content-Disposition"]


def test_partners_and_anonymous_reach_no_report_page(world, partner_client, client):
    assert partner_client.get("/reports/").status_code == 403
    assert client.get("/reports/export/programme.csv").status_code == 302


def test_api_summary_is_readable_by_partner_keys_and_not_anonymously(world):
    from rest_framework.test import APIClient

    _key, partner_key = APIAccessKey.objects.create_key(name="partner", role="partner")
    client = APIClient()
    assert client.get("/api/v1/reports/attendance-summary/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {partner_key}")
    body = client.get("/api/v1/reports/attendance-summary/?group_by=sex").json()
    assert [group["sex"] for group in body["groups"]] == ["female", "male"]
    assert "email" not in str(body)
    by_session = client.get("/api/v1/reports/attendance-summary/?group_by=session").json()
    assert [group["attended"]["total"] for group in by_session["groups"]] == [3, 2, 2, 1, 1, 0]
    by_ministry = client.get("/api/v1/reports/attendance-summary/?group_by=ministry").json()
    assert {group["acronym"]: group["completed"]["total"] for group in by_ministry["groups"]} == {
        "MISTI": 1,
        "MOC": 2,
    }


def test_certificates_for_a_whole_course_and_their_verification(world, staff_client, client):
    response = staff_client.post(f"/reports/courses/{world['a'].pk}/certificates/")
    assert response.status_code == 302
    certificates = Certificate.objects.order_by("holder_name")
    assert [c.holder_name for c in certificates] == ["CHAN Sreymom", "SOK Chenda"]
    assert certificates_issue_for_course(course=world["a"]) == []  # never twice
    code = certificates[0].code
    page = client.get(f"/verify/{code}/").content.decode()
    assert "genuine" in page and "CHAN Sreymom" in page and "Industrial policy" in page
    assert "example.gov.kh" not in page and "+855" not in page
    assert certificate_lookup(code.lower().replace("0", "o")) == certificates[0]
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    response = client.get(f"/verify/{tampered}/")
    assert response.status_code == 404 and "No certificate has this code." in response.content.decode()
    assert client.get("/verify/?code=nonsense").status_code == 404
    pdf = staff_client.get(f"/reports/courses/{world['a'].pk}/certificates.pdf")
    assert pdf.status_code == 200
    text = _pdf_text(pdf.content, "certificates")
    assert "Certificate of Completion" in text and code in text and "CHAN Sreymom" in text
    assert _png(pdf.content, "certificate").exists()


def test_an_officer_cannot_issue_certificates(world, officer_client):
    assert officer_client.post(f"/reports/courses/{world['a'].pk}/certificates/").status_code == 403
    assert not Certificate.objects.exists()


def test_the_programme_pdf_renders_khmer(world, officer_client):
    content = officer_client.get(f"/reports/export/course.pdf?course={world['a'].pk}").content
    text = _pdf_text(content, "course-a")
    assert "ចាន់" in text
    assert _png(content, "course-a").exists()


def test_a_library_warning_while_rendering_a_pdf_is_logged_not_a_500(
    world, officer_client, monkeypatch, caplog
):
    """On a machine without libharfbuzz-subset0 WeasyPrint warns while it renders; the test run turns
    warnings into errors (pyproject's filterwarnings), a production process may too: the PDF must
    still be served."""
    import warnings

    from weasyprint import HTML

    real_write_pdf = HTML.write_pdf

    def write_pdf_with_a_warning(self, *args, **kwargs):
        warnings.warn("HarfBuzz-Subset will be required", UserWarning, stacklevel=2)
        warnings.warn("an old call", DeprecationWarning, stacklevel=2)
        return real_write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", write_pdf_with_a_warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = officer_client.get(f"/reports/export/course.pdf?course={world['a'].pk}")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "HarfBuzz-Subset will be required" in logged and "an old call" in logged
