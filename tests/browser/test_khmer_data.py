"""Khmer for the data, not only the interface: in Khmer mode the walk-in form, the report filters
and the course pages name ministries and courses in Khmer wherever a Khmer name is stored.

The test reads what a person sees (the visible text of the page and the options of its selects)
and lists every English name left over whose record has a Khmer one; a record without a Khmer
name is shown in English, and is not a leftover.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CourseFactory, EnrollmentFactory, MinistryFactory, OfficialFactory, ProjectFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VISIBLE_TEXT = """() => [
  document.querySelector("main").innerText,
  ...[...document.querySelectorAll("main select option")].map((o) => o.textContent),
].join("\\n")"""


@pytest.fixture
def records():
    ministries = [
        MinistryFactory(
            code="misti-t",
            name_en="Ministry of Industry, Science, Technology and Innovation",
            name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
            acronym="MISTI",
        ),
        MinistryFactory(
            code="mef-t",
            name_en="Ministry of Economy and Finance",
            name_km="ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ",
            acronym="",
        ),
        # No Khmer name on record (as for NIS): shown in English, and that is no leftover.
        MinistryFactory(code="nis-t", name_en="National Institute of Statistics", name_km="", acronym="NIS"),
    ]
    project = ProjectFactory(
        title="Capacity building for industrial policy", title_km="ការកសាងសមត្ថភាពគោលនយោបាយឧស្សាហកម្ម"
    )
    courses = [
        CourseFactory(
            project=project, number=1, title="Industrial policy making", title_km="ការរៀបចំគោលនយោបាយឧស្សាហកម្ម"
        ),
        CourseFactory(
            project=project, number=2, title="Quality infrastructure", title_km="ហេដ្ឋារចនាសម្ព័ន្ធគុណភាព"
        ),
        CourseFactory(project=project, number=3, title="Export competitiveness", title_km=""),
    ]
    for ministry in ministries:
        for course in courses:
            EnrollmentFactory(official=OfficialFactory(ministry=ministry), course=course)
    return ministries, courses


def leftovers(text: str, ministries, courses) -> list[str]:
    names = [m.name_en for m in ministries if m.name_km] + [c.title for c in courses if c.title_km]
    return [name for name in names if name in text]


def test_khmer_mode_names_ministries_and_courses_in_khmer(new_page, staff, records):
    ministries, courses = records
    page = new_page(staff, locale="km")
    seen: dict[str, str] = {}

    for course in courses:
        page.goto(page.base_url + reverse("course_detail", args=[course.pk]))
        page.locator("details.walk-in summary").click()
        walk_in = page.locator("form.walk-in-form select[name=ministry] option").all_text_contents()
        assert any(m.name_km in walk_in for m in ministries if m.name_km), walk_in
        seen[f"walk-in form of course {course.number}"] = "\n".join(walk_in)
        seen[f"course page {course.number}"] = page.evaluate(VISIBLE_TEXT)

    page.goto(page.base_url + reverse("course_list"))
    seen["course list"] = page.evaluate(VISIBLE_TEXT)

    for name in ("programme", "ministries", "sessions"):
        page.goto(page.base_url + reverse(f"reports:{name}"))
        filters = page.locator("form.report-filters select option").all_text_contents()
        seen[f"report filters ({name})"] = "\n".join(filters)
        seen[f"report page ({name})"] = page.evaluate(VISIBLE_TEXT)
    page.goto(page.base_url + reverse("reports:course", args=[courses[0].pk]))
    seen["course report"] = page.evaluate(VISIBLE_TEXT)

    found = {where: leftovers(text, ministries, courses) for where, text in seen.items()}
    found = {where: names for where, names in found.items() if names}
    assert not found, "English names left in Khmer mode:\n" + "\n".join(f"{w}: {n}" for w, n in found.items())
    # The fallback: a record without a Khmer name is still named, in English.
    assert "National Institute of Statistics" in seen["report filters (programme)"]
    assert "Export competitiveness" in seen["report filters (programme)"]
