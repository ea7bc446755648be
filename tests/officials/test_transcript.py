"""The transcript: page, CSV, PDF and API tell the same courses, sessions and completion."""

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from participants.demo import load_demo_data
from participants.models import Official
from participants.reports.figures import ReportFilters, grouped_figures
from participants.services import enrollment_withdraw
from tests.api.conftest import API, key_client, make_key
from tests.conftest import require
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    OfficialFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db
OUT = Path(settings.BASE_DIR) / "var" / "test-output" / "transcripts"


def _page_rows(html: str, transcript) -> list:
    """What the page says, read back from its data attributes (one entry per course and session)."""
    return [
        (
            course.enrollment.course_id,
            course.completion,
            [(s.session_id, s.attendance) for s in course.sessions],
        )
        for course in transcript.courses
        if f'data-course="{course.enrollment.course_id}"' in html
        and f'data-completion="{course.completion}"' in html
        and all(
            f'data-session="{s.session_id}" data-attendance="{s.attendance}"' in html for s in course.sessions
        )
    ]


def _api_rows(data: dict) -> list:
    return [
        (
            course["course"],
            course["completion"],
            [(s["session"], s["attendance"]) for s in course["sessions"]],
        )
        for course in data["courses"]
    ]


def test_the_transcript_shows_each_course_with_completion_and_each_session(officer_client, chan, course_one):
    response = officer_client.get(reverse("official_transcript", args=[chan.pk]))
    [course] = response.context["transcript"].courses
    # 2 of 3 held sessions attended: below the default 80 % threshold.
    assert (course.held, course.attended, course.completion) == (3, 2, "not_completed")
    assert [s.attendance for s in course.sessions] == ["present", "present", ""]
    assert "Not completed" in response.content.decode()


def test_completion_agrees_with_the_reports(officer_client, chan, chan_again, course_one, course_two):
    figures = grouped_figures(ReportFilters(), "enrolment")
    for official in (chan, chan_again):
        transcript = officer_client.get(reverse("official_transcript", args=[official.pk])).context[
            "transcript"
        ]
        for course in transcript.courses:
            assert (course.completion == "completed") == bool(
                figures[(course.enrollment.pk,)].completed.total
            )


def test_a_withdrawn_enrolment_and_a_course_not_yet_held_are_said_so(officer_client, chan, course_one):
    enrollment_withdraw(enrollment=chan.enrollments.get())
    future = CourseFactory()
    SessionFactory(course=future, starts_at=None)
    EnrollmentFactory(official=chan, course=future)
    transcript = officer_client.get(reverse("official_transcript", args=[chan.pk])).context["transcript"]
    assert {c.enrollment.course_id: c.completion for c in transcript.courses} == {
        course_one.pk: "withdrawn",
        future.pk: "not_yet_held",
    }


def test_the_csv_has_a_row_per_session(officer_client, chan, course_one):
    response = officer_client.get(reverse("official_transcript_csv", args=[chan.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "Official" and len(rows) == 1 + 3
    assert [row[-1] for row in rows[1:]] == ["Present", "Present", ""]
    assert {row[7] for row in rows[1:]} == {"Not completed"}


def test_the_csv_neutralises_formulas(officer_client, misti):
    official = OfficialFactory(family_name="=HYPERLINK(1)", ministry=misti)
    EnrollmentFactory(official=official, course=CourseFactory())
    rows = list(
        csv.reader(
            io.StringIO(
                officer_client.get(reverse("official_transcript_csv", args=[official.pk])).content.decode()
            )
        )
    )
    assert rows[1][0].startswith("'=")


def test_the_pdf_is_a4_bilingual_with_khmer_shaped(officer_client, chan, chan_again, course_one):
    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils)")
    response = officer_client.get(reverse("official_transcript_pdf", args=[chan.pk]))
    assert response["Content-Type"] == "application/pdf"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "transcript.pdf"
    path.write_bytes(response.content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert "595.276 x 841.89 pts (A4)" in info
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60).stdout
    assert "ចាន់ សុភា" in text and "CHAN Sophea" in text and "Transcript" in text and "Present" in text
    # Khmer set in a Khmer font (shaped by HarfBuzz), embedded: the same on every reader's machine.
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert "Noto-Sans-Khmer" in fonts
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(OUT / "transcript")],
        check=True,
        timeout=60,
    )
    assert (OUT / "transcript-1.png").exists()


@pytest.mark.parametrize("enrolments", [1, 40])
def test_the_transcript_costs_the_same_queries_for_1_or_40_enrolments(
    officer_client, enrolments, django_assert_max_num_queries
):
    official = OfficialFactory()
    for _ in range(enrolments):
        enrollment = EnrollmentFactory(official=official, course=CourseFactory())
        AttendanceFactory(enrollment=enrollment, session=SessionFactory(course=enrollment.course))
    staff_key = key_client(make_key("mih_staff"))
    with django_assert_max_num_queries(14):
        page = officer_client.get(reverse("official_transcript", args=[official.pk]))
    with django_assert_max_num_queries(14):
        api = staff_key.get(f"{API}officials/{official.pk}/transcript/")
    assert len(page.context["transcript"].courses) == len(api.json()["courses"]) == enrolments


def test_partners_get_the_transcript_without_contact_data(chan):
    partner = key_client(make_key("partner")).get(f"{API}officials/{chan.pk}/transcript/").json()
    staff = key_client(make_key("mih_staff")).get(f"{API}officials/{chan.pk}/transcript/").json()
    assert "email" not in partner["official"] and "phone" not in partner["official"]
    assert staff["official"]["email"] == "sophea@misti.gov.kh"
    assert partner["courses"] == staff["courses"]
    assert key_client(make_key("partner")).get(f"{API}officials/987654/transcript/").status_code == 404


def test_the_api_and_the_page_agree_for_every_official_of_the_demo_data(officer_client, public_record):
    load_demo_data()
    api = key_client(make_key("partner"))
    officials = list(Official.objects.filter(is_demo=True).values_list("pk", flat=True))
    assert len(officials) > 10
    for pk in officials:
        response = officer_client.get(reverse("official_transcript", args=[pk]))
        transcript = response.context["transcript"]
        page = _page_rows(response.content.decode(), transcript)
        assert len(page) == len(transcript.courses), pk  # every course and session is on the page
        assert page == _api_rows(api.get(f"{API}officials/{pk}/transcript/").json()), pk
