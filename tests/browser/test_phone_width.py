"""Every page of the staff flow on a 390 x 844 phone, in English and in Khmer: nothing scrolls
sideways. Wide tables scroll inside their own box (or reflow); the page itself never gets wider
than the screen. On failure the test names the elements that stick out."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from participants.models import AttendanceStatus
from tests.conftest import screenshot
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    ProjectFactory,
    SessionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# The elements wider than the screen, deepest first, so a failure says what to fix.
STICKING_OUT = """() => {
  const limit = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= limit + 0.5) continue;
    // A scroll box clips its content, except an absolutely placed element whose containing block
    // lies outside the box (the box is not positioned): that one widens the page.
    let clipped = false;
    let escapes = getComputedStyle(el).position === "absolute";
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (!escapes && style.overflowX !== "visible") { clipped = true; break; }
      if (style.position !== "static") escapes = false;
    }
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + [...el.classList].join(".");
    if (!clipped) out.push(`${name} right=${Math.round(r.right)}`);
  }
  return out.slice(-8);
}"""


@pytest.fixture
def world():
    """A course as the real ones are: long titles and ministry names in both scripts, sessions
    with attendance, and officials with long names."""
    ministries = [
        MinistryFactory(
            name_en="Ministry of Land Management, Urban Planning and Construction",
            name_km="ក្រសួងរៀបចំដែនដី នគរូបនីយកម្ម និងសំណង់",
            acronym="MLMUPC",
        ),
        MinistryFactory(
            name_en="Ministry of Industry, Science, Technology and Innovation",
            name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
            acronym="",
        ),
    ]
    project = ProjectFactory(
        title="Institutional capacity building for industrial policy implementation in Cambodia",
        title_km="ការកសាងសមត្ថភាពស្ថាប័នសម្រាប់ការអនុវត្តគោលនយោបាយឧស្សាហកម្មនៅកម្ពុជា",
    )
    course = CourseFactory(
        project=project,
        title="Standards, Quality Infrastructure and Conformity Assessment for Export Competitiveness",
        title_km="ស្តង់ដារ ហេដ្ឋារចនាសម្ព័ន្ធគុណភាព និងការវាយតម្លៃអនុលោមភាព",
        venue="Ministry of Industry, Science, Technology and Innovation, Phnom Penh",
    )
    start = timezone.now() - datetime.timedelta(days=3)
    sessions = [
        SessionFactory(
            course=course,
            title=f"Quality infrastructure and internationally recognised conformity assessment, part {n}",
            title_km=f"ហេដ្ឋារចនាសម្ព័ន្ធគុណភាព ផ្នែកទី {n}",
            venue="Sokha Phnom Penh Hotel, Chroy Changvar, conference room 3",
            venue_km="សណ្ឋាគារសុខា ភ្នំពេញ",
            starts_at=start + datetime.timedelta(days=n),
        )
        for n in range(3)
    ]
    enrolments = []
    for n in range(6):
        official = OfficialFactory(
            family_name=f"Sokunthearith{n}",
            given_name="Chanmonyroath",
            ministry=ministries[n % 2],
            position="Deputy Director of the Department of Industrial Standards",
        )
        enrolments.append(EnrollmentFactory(official=official, course=course))
    for enrolment in enrolments[:4]:
        AttendanceFactory(enrollment=enrolment, session=sessions[0], status=AttendanceStatus.PRESENT)
    return {"course": course, "session": sessions[0], "official": enrolments[0].official, "project": project}


def staff_pages(world) -> list[tuple[str, str]]:
    course, session = world["course"], world["session"]
    return [
        ("dashboard", reverse("dashboard")),
        ("course-list", reverse("course_list")),
        ("course", reverse("course_detail", args=[course.pk])),
        ("course-walk-in", reverse("course_detail", args=[course.pk]) + "?walk_in=1"),
        ("session", reverse("session_detail", args=[session.pk])),
        ("session-form", reverse("session_edit", args=[session.pk])),
        ("course-form", reverse("course_edit", args=[course.pk])),
        ("officials", reverse("official_list")),
        ("official", reverse("official_detail", args=[world["official"].pk])),
        ("official-edit", reverse("official_edit", args=[world["official"].pk])),
        ("report-programme", reverse("reports:programme")),
        ("report-ministries", reverse("reports:ministries")),
        ("report-sessions", reverse("reports:sessions")),
        ("report-course", reverse("reports:course", args=[course.pk])),
        ("series", reverse("series_detail", args=[world["project"].pk])),
        ("imports", reverse("import_home")),
        ("import-enrolments", reverse("import_upload", args=["enrolments"])),
        ("import-attendance", reverse("import_upload", args=["attendance"])),
        ("calendar", reverse("calendar_month")),
        ("search", reverse("search") + "?q=Sok"),
        ("preferences", reverse("preferences")),
    ]


@pytest.mark.parametrize("locale", ["en", "km"])
def test_no_staff_page_scrolls_sideways_on_a_phone(new_page, staff, world, locale):
    page = new_page(staff, locale=locale, viewport=PHONE)
    too_wide = {}
    for name, path in staff_pages(world):
        page.goto(page.base_url + path)
        page.wait_for_load_state("networkidle")
        if name == "course-walk-in":
            page.locator("details.walk-in summary").click()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[name] = (width, page.evaluate(STICKING_OUT))
        if locale == "km" and name in ("course", "session", "report-ministries", "officials"):
            screenshot(page, f"phone-{name}-km")
    assert not too_wide, "\n".join(f"{name}: {width}px; {out}" for name, (width, out) in too_wide.items())
