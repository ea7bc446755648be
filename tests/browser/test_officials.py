"""Officials in real Chromium: merging two records of one person and undoing it, seen on the
transcript; every officials page in Khmer with no English left, and on a phone without sideways
scrolling."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from participants.merging import official_merge
from participants.models import Official
from tests.browser.axe import AxeReport, axe_core_path
from tests.conftest import require, screenshot
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


@pytest.fixture(scope="session")
def axe_source() -> str:
    path = axe_core_path()
    require(path.exists(), f"needs axe-core at {path}: run `make axe-core` (npm)")
    return path.read_text(encoding="utf-8")


def _course(project, number: int, title: str, sessions: int, title_km: str = ""):
    course = CourseFactory(project=project, number=number, title=title, title_km=title_km)
    start = timezone.now() - datetime.timedelta(days=20)
    course.test_sessions = [
        # Sessions have no Khmer title field: a Khmer page's sessions are named in Khmer.
        SessionFactory(
            course=course, title=f"{title_km or title} {i + 1}", starts_at=start + datetime.timedelta(days=i)
        )
        for i in range(sessions)
    ]
    return course


def _duplicates(*, khmer: bool = False):
    """One person entered twice: course 1 under the first record, course 2 under the second."""
    ministry = MinistryFactory(name_en="Ministry of Industry", name_km="ក្រសួងឧស្សាហកម្ម", acronym="")
    # One series, as the programme's courses are: English titles, and Khmer ones stored beside them
    # for the Khmer pages, which must show the Khmer ones.
    series = ProjectFactory(title="Capacity building", title_km="គម្រោងកសាងសមត្ថភាព" if khmer else "")
    one = _course(series, 1, "Industrial policy", 2, "គោលនយោបាយឧស្សាហកម្ម" if khmer else "")
    two = _course(series, 2, "Quality infrastructure", 2, "ហេដ្ឋារចនាសម្ព័ន្ធគុណភាព" if khmer else "")
    latin = {} if khmer else {"family_name": "Chan", "given_name": "Sophea"}
    first = OfficialFactory(
        name_km="ចាន់ សុភា",
        ministry=ministry,
        email="",
        position="",
        **({"family_name": "", "given_name": ""} | latin),
    )
    second = OfficialFactory(
        name_km="ចាន់ សុភា",
        ministry=ministry,
        email="",
        position="",
        phone="012 999 999",
        **({"family_name": "", "given_name": ""} | latin),
    )
    for official, course, status in ((first, one, "present"), (second, two, "late")):
        enrollment = EnrollmentFactory(official=official, course=course)
        for session in course.test_sessions:
            AttendanceFactory(enrollment=enrollment, session=session, status=status)
    return first, second, one, two


def _transcript_courses(page, official_id: int) -> list[str]:
    page.goto(page.base_url + reverse("official_transcript", args=[official_id]))
    return page.locator("section.transcript-course h2").all_inner_texts()


def test_staff_merge_two_duplicates_and_undo_it(new_page, staff):
    first, second, _one, _two = _duplicates()
    page = new_page(staff)
    page.goto(page.base_url + reverse("official_list"))
    page.locator(f"a[href='{reverse('official_detail', args=[first.pk])}']").click()
    page.get_by_role("link", name="Merge a duplicate into this record").click()
    page.get_by_label("Find an official").fill("ចាន់")
    page.locator("#main").get_by_role("button", name="Search").click()
    page.locator(f"a[href$='other={second.pk}']").click()
    assert page.get_by_role("heading", name="Side by side").is_visible()
    page.get_by_label("012 999 999").check()  # the second record's phone number stays
    screenshot(page, "officials-merge-compare")
    page.get_by_role("button", name="Merge", exact=True).click()
    assert "was merged into" in page.locator(".messages").inner_text()

    # The survivor's transcript holds both histories: course 1 and course 2 with their sessions.
    assert len(_transcript_courses(page, first.pk)) == 2
    marks = page.locator("tr[data-session]").evaluate_all("rows => rows.map(r => r.dataset.attendance)")
    assert sorted(marks) == ["late", "late", "present", "present"]
    screenshot(page, "officials-transcript-merged")
    assert Official.objects.get(pk=first.pk).phone == "012 999 999"

    page.goto(page.base_url + reverse("official_detail", args=[first.pk]))
    page.get_by_role("button", name="Undo this merge").click()
    assert "The merge was undone" in page.locator(".messages").inner_text()
    assert [text.split(":")[0] for text in _transcript_courses(page, first.pk)] == ["Course 1"]
    assert [text.split(":")[0] for text in _transcript_courses(page, second.pk)] == ["Course 2"]
    assert Official.objects.get(pk=first.pk).phone != "012 999 999"


def _english_words(page) -> list[str]:
    """Latin-script words in what the page shows, leaving out the lists of choices (ministries are
    named as entered) and the signed-in person's name."""
    text = page.evaluate(
        """() => {
            const main = document.querySelector('main').cloneNode(true);
            main.querySelectorAll('select, option').forEach(el => el.remove());
            return main.innerText;
        }"""
    )
    return [
        word for word in re.findall(r"[A-Za-z]{2,}", text) if word not in {"PDF", "CSV", "sophea", "staff"}
    ]


def test_every_officials_page_is_khmer_fits_a_phone_and_passes_axe(new_page, staff, axe_source):
    first, second, _one, _two = _duplicates(khmer=True)
    merged = official_merge(survivor_id=first.pk, other_id=second.pk, merged_by=staff)
    pages = {
        "list": reverse("official_list"),
        "detail": reverse("official_detail", args=[first.pk]),
        "edit": reverse("official_edit", args=[first.pk]),
        "merge-pick": reverse("official_merge") + f"?survivor={first.pk}&q=ចាន់",
        "transcript": reverse("official_transcript", args=[first.pk]),
    }
    other = OfficialFactory(
        family_name="", given_name="", name_km="សុខ ដារ៉ា", email="", position="", ministry=first.ministry
    )
    pages["merge-compare"] = reverse("official_merge") + f"?survivor={first.pk}&other={other.pk}"
    assert merged.pk
    report = AxeReport()
    page = new_page(staff, locale="km", viewport=PHONE)
    page.context.add_init_script(axe_source)
    for name, path in pages.items():
        response = page.goto(page.base_url + path)
        assert response.status == 200, name
        assert page.locator("html").get_attribute("lang") == "km"
        assert _english_words(page) == [], name
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{name} scrolls sideways: {widths}"
        screenshot(page, f"officials-km-phone-{name}")
        report.check(page, f"{name} (km, phone)")
    # The same pages in English on a desktop; the accessibility test covers the matrix's others.
    page = new_page(staff)
    page.context.add_init_script(axe_source)
    for name, path in pages.items():
        page.goto(page.base_url + path)
        report.check(page, f"{name} (en, desktop)")
    assert report.failing() == [], report.describe(report.failing())
