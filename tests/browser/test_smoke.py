"""A first look through real Chromium: the landing page and a log-in, in English and Khmer."""

import pytest

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_logs_in_and_sees_the_dashboard(new_page, staff, public_record):
    page = new_page(staff)
    assert page.url.endswith("/dashboard/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator("text=Course 3").first.is_visible()
    screenshot(page, "smoke-dashboard")


def test_landing_page_shows_the_course_series(new_page, public_record):
    page = new_page()
    page.goto(page.base_url + "/")
    assert "Kampong Thom" in page.content()
    screenshot(page, "smoke-home")
