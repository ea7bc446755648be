"""Khmer for the data: sessions and the programme in Khmer with English as fallback, Khmer digits
as a person's choice on pages only, Khmer digits accepted by forms, exports in the request's
language with Latin digits, and one format of the register's "recorded at"."""

from __future__ import annotations

import csv
import datetime
import io

import openpyxl
import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from courses.forms import SessionForm
from participants.forms import WalkInForm
from participants.reports.forms import ReportFilterForm
from pcp_portal import numerals
from pcp_portal.models import UserPreference
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    ProgrammeFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


# --- fallback -------------------------------------------------------------------------------------


def test_a_session_shows_its_khmer_title_and_venue_in_khmer_and_english_otherwise():
    session = SessionFactory.build(title="Opening", title_km="ពិធីបើក", venue="Hotel", venue_km="សណ្ឋាគារ")
    assert (session.title_in("km"), session.venue_in("km")) == ("ពិធីបើក", "សណ្ឋាគារ")
    assert (session.title_in("en"), session.venue_in("en")) == ("Opening", "Hotel")


def test_a_session_without_khmer_falls_back_to_english_in_khmer_mode():
    session = SessionFactory.build(title="Opening", title_km="", venue="Hotel", venue_km="")
    with translation.override("km"):
        html = Template("{% load script_lang %}{{ s|title_in_language }}|{{ s|venue_in_language }}").render(
            Context({"s": session})
        )
    assert html == "Opening|Hotel"


def test_the_programme_has_a_khmer_name_and_description_with_english_fallback():
    programme = ProgrammeFactory.build(name="PCP Cambodia", name_km="កម្មវិធី PCP", description="About")
    assert programme.title_in("km") == "កម្មវិធី PCP"
    assert programme.description_in("km") == "About"  # no Khmer description: English
    assert programme.title_in("en") == "PCP Cambodia"


def test_the_session_page_shows_the_khmer_title_and_venue_in_khmer_mode(staff_client):
    session = SessionFactory(title="Opening", title_km="ពិធីបើក", venue="Hotel", venue_km="សណ្ឋាគារ")
    staff_client.cookies["django_language"] = "km"
    html = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "ពិធីបើក" in html and "សណ្ឋាគារ" in html
    assert "<h1>Opening" not in html


def test_the_session_form_stores_the_khmer_title_and_venue(staff_client):
    session = SessionFactory()
    data = {
        "title": "Opening",
        "title_km": "ពិធីបើក",
        "venue": "Hotel",
        "venue_km": "សណ្ឋាគារ",
        "starts_at": "២០២៦-១២-០៣T០៨:០០",
        "ends_at": "2026-12-03T12:00",
    }
    response = staff_client.post(reverse("session_edit", args=[session.pk]), data)
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.title_km, session.venue_km) == ("ពិធីបើក", "សណ្ឋាគារ")
    assert timezone.localtime(session.starts_at).hour == 8


# --- digits ---------------------------------------------------------------------------------------


def test_the_digits_filter_writes_khmer_digits_only_when_chosen():
    template = Template("{% load numerals %}{{ n|digits:digits }} {{ d|date:'Y-m-d'|digits:digits }}")
    context = {"n": 1234, "d": datetime.date(2026, 12, 3)}
    assert template.render(Context({**context, "digits": "khmer"})) == "១២៣៤ ២០២៦-១២-០៣"
    assert template.render(Context({**context, "digits": "latin"})) == "1234 2026-12-03"


def test_a_user_chooses_khmer_digits_on_the_preferences_page_and_pages_use_them(staff, staff_client):
    response = staff_client.post(reverse("preferences"), {"digits": "khmer"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=staff).digits == "khmer"
    html = staff_client.get(reverse("preferences")).content.decode()
    assert "២០២៦-១២-០៣" in html


def test_the_choice_of_digits_comes_back_at_the_next_log_in(staff, client):
    UserPreference.objects.create(user=staff, digits="khmer")
    client.force_login(staff)  # fires user_logged_in
    assert client.session[numerals.SESSION_KEY] == "khmer"


def test_a_preference_post_without_a_choice_saves_nothing(staff, staff_client):
    response = staff_client.post(reverse("preferences"), {"digits": "roman"})
    assert response.status_code == 200
    assert not UserPreference.objects.filter(user=staff).exists()


def test_forms_read_khmer_digits_in_phone_and_number_fields():
    ministry = MinistryFactory()
    form = WalkInForm(
        {
            "family_name": "Sok",
            "given_name": "Dara",
            "sex": "female",
            "ministry": str(ministry.pk),
            "phone": "០១២ ៣៤៥ ៦៧៨",
            "preferred_language": "km",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "012 345 678"
    report = ReportFilterForm({"date_from": "២០២០-០១-០១"})
    assert report.is_valid(), report.errors
    assert report.cleaned_data["date_from"] == datetime.date(2020, 1, 1)


def test_khmer_digits_in_a_number_field_are_read_but_other_text_is_still_refused():
    form = SessionForm({"title": "A", "starts_at": "២០២៦-១២-xx"})
    assert not form.is_valid()
    assert "starts_at" in form.errors


def test_the_register_shows_recorded_at_in_the_same_format_as_its_json_answer(staff_client):
    attendance = AttendanceFactory()
    session = attendance.session
    page = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    expected = numerals.moment_text(attendance.recorded_at)
    assert expected in page
    response = staff_client.post(
        reverse("register_row", args=[session.pk, attendance.enrollment_id]),
        {"status": "late", "note": "", "version": attendance.version},
    )
    recorded_at = response.json()["row"]["recorded_at"]
    attendance.refresh_from_db()
    assert recorded_at == numerals.moment_text(attendance.recorded_at)
    assert len(recorded_at) == len("2026-12-03 08:47")


# --- exports --------------------------------------------------------------------------------------


@pytest.fixture
def khmer_world():
    ministry = MinistryFactory(name_en="Ministry of Commerce", name_km="ក្រសួងពាណិជ្ជកម្ម", acronym="MOC")
    course = CourseFactory(title="Industrial policy", title_km="គោលនយោបាយឧស្សាហកម្ម")
    session = SessionFactory(course=course, starts_at=timezone.now() - datetime.timedelta(days=2))
    for _ in range(12):
        enrolment = EnrollmentFactory(official=OfficialFactory(ministry=ministry), course=course)
        AttendanceFactory(enrollment=enrolment, session=session)
    return ministry, course


def test_an_export_made_in_khmer_mode_names_things_in_khmer_with_latin_digits(khmer_world, officer_client):
    officer_client.cookies["django_language"] = "km"
    response = officer_client.get(reverse("reports:export", args=["ministries", "csv"]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    body = "\n".join(",".join(row) for row in rows[1:])
    assert "ក្រសួងពាណិជ្ជកម្ម" in body
    assert "Ministry of Commerce" not in body
    assert "12" in body and not any(ch in text for ch in "០១២៣៤៥៦៧៨៩")


def test_an_xlsx_export_in_khmer_mode_keeps_numbers_as_numbers(khmer_world, officer_client):
    officer_client.cookies["django_language"] = "km"
    response = officer_client.get(reverse("reports:export", args=["programme", "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None]
    assert any("គោលនយោបាយឧស្សាហកម្ម" in str(value) for value in values)
    assert 12 in values  # a number, not Khmer text


def test_an_export_made_in_english_mode_stays_english(khmer_world, officer_client):
    response = officer_client.get(reverse("reports:export", args=["ministries", "csv"]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Ministry of Commerce" in text and "ក្រសួងពាណិជ្ជកម្ម" not in text


def test_the_course_page_writes_dates_with_the_digits_the_user_chose(staff, staff_client):
    enrolment = EnrollmentFactory(enrolled_on=datetime.date(2020, 2, 1))
    staff_client.post(reverse("preferences"), {"digits": "khmer"})
    html = staff_client.get(reverse("course_detail", args=[enrolment.course_id])).content.decode()
    assert "២០២០" in html
    staff_client.post(reverse("preferences"), {"digits": "latin"})
    html = staff_client.get(reverse("course_detail", args=[enrolment.course_id])).content.decode()
    assert "២០២០" not in html and "2020" in html
