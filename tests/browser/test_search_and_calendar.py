"""Through real Chromium: staff find an official from the header's search box, by a part of the
Khmer name and by a phone number typed in Khmer digits, with the keyboard alone; the calendar on a
phone has no sideways scroll, in English and Khmer."""

import datetime

import pytest
from django.utils import timezone

from tests.conftest import screenshot
from tests.factories import EnrollmentFactory, OfficialFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def chan():
    official = OfficialFactory(
        family_name="Chan", given_name="Sophea", name_km="ចាន់ សុភា", phone="+855 12 345 678", email=""
    )
    OfficialFactory(family_name="Sok", given_name="Dara", name_km="សុខ ដារ៉ា", phone="+855 97 765 4321")
    EnrollmentFactory(official=official)
    return official


def _search_from_the_header(page, text: str) -> None:
    box = page.get_by_role("searchbox", name="Search the portal")
    box.fill(text)
    with page.expect_navigation():
        box.press("Enter")


def test_staff_reach_an_official_by_khmer_name_and_by_khmer_digits(new_page, staff, chan):
    page = new_page(staff)
    _search_from_the_header(page, "ចាន់")
    assert page.get_by_role("heading", name="Officials").is_visible()
    screenshot(page, "search-khmer-name")
    # The keyboard alone: down from the search field into the results, Enter on the official.
    page.locator("#search-page-q").focus()
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.textContent")
    assert "CHAN Sophea" in focused
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/officials/{chan.pk}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("CHAN Sophea")

    _search_from_the_header(page, "០១២ ៣៤៥ ៦៧៨")
    results = page.locator(".search-results a")
    assert results.count() == 1
    with page.expect_navigation():
        results.first.click()
    assert page.url.endswith(f"/officials/{chan.pk}/")
    screenshot(page, "search-phone-reached-official")


def test_an_officer_finds_no_one_by_phone(new_page, officer, chan):
    page = new_page(officer)
    _search_from_the_header(page, "០១២ ៣៤៥ ៦៧៨")
    assert page.get_by_text("Nothing found for").is_visible()


@pytest.mark.parametrize("locale", ["en", "km"])
def test_the_calendar_and_the_search_fit_a_phone(new_page, staff, chan, locale):
    now = timezone.localtime()
    for hour in (8, 13):
        SessionFactory(
            title="Quality infrastructure and standards: a long session title that must wrap",
            starts_at=now.replace(hour=hour, minute=30) + datetime.timedelta(days=1),
            venue="Ministry of Industry, Science, Technology and Innovation, Phnom Penh",
        )
    page = new_page(staff, locale=locale, viewport=PHONE)
    for path, name in (("/calendar/", "month"), ("/calendar/week/", "week"), ("/search/?q=chan", "search")):
        page.goto(page.base_url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways ({width}px)"
        screenshot(page, f"{name}-phone-{locale}")


def test_the_month_is_a_seven_day_grid_on_a_desktop_and_its_sessions_are_reached_by_tab(new_page, officer):
    start = timezone.localtime().replace(day=10, hour=9, minute=0, second=0, microsecond=0)
    session = SessionFactory(
        title="Opening of course 1", starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    SessionFactory(
        title="Cancelled visit",
        starts_at=start + datetime.timedelta(days=1),
        status="cancelled",
        cancelled_at=timezone.now(),
    )
    page = new_page(officer)
    page.goto(page.base_url + "/calendar/")
    first_week = page.locator(".calendar-week").first.locator(".calendar-day")
    tops = {round(first_week.nth(index).bounding_box()["y"]) for index in range(7)}
    assert len(tops) == 1  # one row of seven days
    link = page.get_by_role("link", name="Opening of course 1")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip().endswith("Opening of course 1"):
            break
    else:
        pytest.fail("the session's link is not reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/sessions/{session.pk}/")
    assert link  # the link the keyboard reached is the one on the page
    page.goto(page.base_url + "/calendar/")
    screenshot(page, "calendar-month-desktop")
    # The week too is one row of seven days.
    page.goto(page.base_url + f"/calendar/week/?week={start.date().isoformat()}")
    days = page.locator(".calendar-week").first.locator(".calendar-day")
    assert days.count() == 7
    assert len({round(days.nth(index).bounding_box()["y"]) for index in range(7)}) == 1
    widths = [days.nth(index).bounding_box()["width"] for index in range(7)]
    assert min(widths) > 100
    screenshot(page, "calendar-week-desktop")
