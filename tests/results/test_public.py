"""Public pages: no log-in, aggregate figures with the public record's sources, nothing personal."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.cache import cache
from django.test import Client

from courses.models import Project
from participants.demo import load_demo_data
from participants.models import Official
from participants.reports import figures as fig
from tests.factories import CourseFactory


@pytest.fixture
def demo(public_record):
    load_demo_data(today=datetime.date(2020, 6, 1))
    cache.clear()  # the public counts are cached across tests otherwise
    return Project.objects.get(reference_key="project:rok-capacity-building")


def _public_pages(project) -> dict[str, str]:
    client = Client()  # anonymous
    paths = [
        "/public/",
        f"/public/projects/{project.pk}/",
        "/public/officials-trained.csv",
        "/public/officials-trained.json",
    ]
    paths += [f"/public/courses/{course.pk}/" for course in project.courses.all()]
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.content.decode()
    return pages


def test_public_pages_show_no_officials_name_email_or_phone(demo):
    pages = _public_pages(demo)
    officials = list(Official.objects.all())
    assert len(officials) > 20
    for path, text in pages.items():
        for official in officials:
            for value in (
                official.family_name + " " + official.given_name,
                official.name_km,
                official.email,
                official.phone,
            ):
                if value and value.strip():
                    assert value not in text, (path, value)
            # A given name alone is too common a word to test; the e-mail's local part is not.
            if official.email:
                assert official.email.split("@")[0] not in text, path


def test_course_figures_are_the_reports_and_cite_the_public_record(demo):
    pages = _public_pages(demo)
    course_3 = demo.courses.get(number=3)
    trained = fig.programme_figures(fig.ReportFilters(course_id=course_3.pk)).trained
    page = pages[f"/public/courses/{course_3.pk}/"]
    assert f"{trained.total} officials trained: {trained.women} women, {trained.men} men." in page
    assert course_3.sources["title"][0] in page  # each fact links its source
    course_4 = demo.courses.get(number=4)
    assert "not yet on public record" in pages[f"/public/courses/{course_4.pk}/"]
    data = json.loads(pages["/public/officials-trained.json"])
    assert "CC BY 4.0" in data["licence"]
    assert (
        sum(row["officials_trained_total"] for row in data["figures"] if row["course_number"] == 3)
        == trained.total
    )
    assert pages["/public/officials-trained.csv"].startswith("# Licence: Creative Commons")


def test_the_counts_are_cached_between_visits(demo, django_assert_max_num_queries):
    client = Client()
    client.get("/public/")
    with django_assert_max_num_queries(6):  # the page's rows; the figures come from the cache
        assert client.get("/public/").status_code == 200


def test_an_unknown_format_or_course_is_not_found(db):
    client = Client()
    assert client.get("/public/officials-trained.xml").status_code == 404
    assert client.get("/public/courses/999999/").status_code == 404


def test_a_course_of_the_portal_only_is_not_yet_on_public_record(db):
    course = CourseFactory(number=5)
    assert "not yet on public record" in Client().get(f"/public/courses/{course.pk}/").content.decode()
