"""Khmer titles of courses and series, and Khmer ministry names, on the pages in Khmer mode.

A title or name stored in Khmer is shown in Khmer mode; English stays in English mode and is the
fallback when no Khmer one is stored. Exports keep English.
"""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from django.urls import reverse

from courses.models import Course
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    ProjectFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

COURSE_KM = "វគ្គស្តីពីគោលនយោបាយឧស្សាហកម្ម"
SERIES_KM = "ស៊េរីវគ្គបណ្តុះបណ្តាលសមត្ថភាព"
MINISTRY_KM = "ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍"


@pytest.fixture
def cast():
    ministry = MinistryFactory(name_en="Ministry of Industry, Science, Technology and Innovation")
    ministry.name_km = MINISTRY_KM
    ministry.save()
    project = ProjectFactory(title="Capacity-building series", title_km=SERIES_KM)
    course = CourseFactory(project=project, number=1, title="Industrial policy", title_km=COURSE_KM)
    plain = CourseFactory(project=project, number=2, title="Quality infrastructure")
    session = SessionFactory(course=course, title="Opening")
    official = OfficialFactory(ministry=ministry)
    EnrollmentFactory(official=official, course=course)
    EnrollmentFactory(official=official, course=plain)
    return {
        "project": project,
        "course": course,
        "plain": plain,
        "session": session,
        "official": official,
        "ministry": ministry,
    }


def _page(client, url: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


def _pages(cast):
    course, official = cast["course"], cast["official"]
    return [
        reverse("course_list"),
        reverse("course_detail", args=[course.pk]),
        reverse("session_detail", args=[cast["session"].pk]),
        reverse("series_detail", args=[cast["project"].pk]),
        reverse("calendar_month") + f"?year={course.start_date.year}&month={course.start_date.month}",
        reverse("official_list"),
        reverse("official_detail", args=[official.pk]),
        reverse("official_transcript", args=[official.pk]),
        reverse("reports:programme"),
        reverse("reports:course", args=[course.pk]),
    ]


def test_the_khmer_course_title_is_shown_in_khmer_mode(cast, staff_client):
    for url in _pages(cast):
        assert COURSE_KM in _page(staff_client, url, "km"), url


def test_the_english_course_title_is_shown_in_english_mode(cast, staff_client):
    for url in _pages(cast):
        page = _page(staff_client, url, "en")
        assert "Industrial policy" in page, url
        assert COURSE_KM not in page, url


def test_a_course_without_a_khmer_title_falls_back_to_english(cast, staff_client):
    for url in (
        reverse("course_list"),
        reverse("course_detail", args=[cast["plain"].pk]),
        reverse("series_detail", args=[cast["project"].pk]),
        reverse("official_detail", args=[cast["official"].pk]),
        reverse("reports:programme"),
    ):
        assert "Quality infrastructure" in _page(staff_client, url, "km"), url


def test_the_series_title_is_khmer_in_khmer_mode_and_english_otherwise(cast, staff_client):
    for url in (
        reverse("series_detail", args=[cast["project"].pk]),
        reverse("course_detail", args=[cast["course"].pk]),
    ):
        assert SERIES_KM in _page(staff_client, url, "km"), url
        english = _page(staff_client, url, "en")
        assert "Capacity-building series" in english and SERIES_KM not in english, url


def test_the_series_without_a_khmer_title_falls_back_to_english(cast, staff_client):
    cast["project"].title_km = ""
    cast["project"].save()
    page = _page(staff_client, reverse("series_detail", args=[cast["project"].pk]), "km")
    assert "Capacity-building series" in page


def test_the_ministry_selects_show_khmer_names_in_khmer_mode(cast, staff_client):
    walk_in = reverse("course_detail", args=[cast["course"].pk])
    report = reverse("reports:programme")
    for url in (walk_in, report, reverse("official_list")):
        khmer = _page(staff_client, url, "km")
        assert f">{MINISTRY_KM}</option>" in khmer, url
        english = _page(staff_client, url, "en")
        assert ">Ministry of Industry, Science, Technology and Innovation" in english, url
        assert f">{MINISTRY_KM}</option>" not in english, url


def test_a_ministry_without_a_khmer_name_keeps_its_english_one_in_khmer_mode(cast, staff_client):
    MinistryFactory(name_en="National Institute of Statistics", name_km="")
    page = _page(staff_client, reverse("reports:programme"), "km")
    assert ">National Institute of Statistics" in page


def test_the_report_course_filter_is_labelled_in_the_page_language(cast, staff_client):
    khmer = _page(staff_client, reverse("reports:programme"), "km")
    assert COURSE_KM in khmer.split('name="course"', 1)[1].split("</select>", 1)[0]
    english = _page(staff_client, reverse("reports:programme"), "en")
    options = english.split('name="course"', 1)[1].split("</select>", 1)[0]
    assert "Course 1: Industrial policy" in options and COURSE_KM not in options


def test_the_course_form_saves_the_khmer_title_and_description(staff_client):
    project = ProjectFactory()
    response = staff_client.post(
        reverse("course_create"),
        {
            "project": project.pk,
            "number": 7,
            "title": "Export promotion",
            "title_km": "ការលើកកម្ពស់ការនាំចេញ",
            "description_km": "ការពិពណ៌នាជាភាសាខ្មែរ",
            "start_date": "2021-03-01",
            "end_date": "2021-03-02",
        },
    )
    assert response.status_code == 302
    course = Course.objects.get(project=project, number=7)
    assert course.title_km == "ការលើកកម្ពស់ការនាំចេញ"
    assert course.description_km == "ការពិពណ៌នាជាភាសាខ្មែរ"
    assert course.history.latest().title_km == "ការលើកកម្ពស់ការនាំចេញ"

    response = staff_client.post(
        reverse("course_edit", args=[course.pk]),
        {"project": project.pk, "number": 7, "title": "Export promotion", "title_km": "ការនាំចេញ"},
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.title_km == "ការនាំចេញ"


def test_the_exports_keep_the_english_title(cast, staff_client):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "km"
    response = staff_client.get(reverse("official_transcript_csv", args=[cast["official"].pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode(
        "utf-8-sig"
    )
    assert "Industrial policy" in body and COURSE_KM not in body


def test_label_in_falls_back_to_english_and_str_stays_english():
    course = CourseFactory.build(number=3, title="Standards", title_km="ស្តង់ដារ")
    assert course.label_in("km").endswith(": ស្តង់ដារ")
    assert course.label_in("en").endswith(": Standards")
    assert str(course).endswith(": Standards")
    course.title_km = ""
    assert course.title_in("km") == "Standards"
    assert course.description_in("km") == course.description
