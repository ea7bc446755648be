"""The portal in Khmer, in real Chromium: the script is shaped by a Khmer font, not drawn as boxes."""

import pytest
from django.urls import reverse

from tests.conftest import screenshot
from tests.factories import EnrollmentFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_khmer_dashboard_and_register_use_a_khmer_font(new_page, staff):
    session = SessionFactory(title="វគ្គទី១")
    for _ in range(3):
        EnrollmentFactory(course=session.course)
    page = new_page(staff, locale="km")
    assert page.get_by_role("link", name="វគ្គសិក្សា និងវគ្គរៀន").is_visible()
    screenshot(page, "dashboard-km")
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    label = page.locator("tr.register-row label.choice-excused").first
    assert label.inner_text() == "មានច្បាប់"
    # A shaped Khmer word is far narrower than the same code points drawn as fallback boxes.
    width = label.evaluate("el => el.getBoundingClientRect().width")
    assert 20 < width < 140
    fonts = page.evaluate(
        "() => document.fonts.check('16px \"Khmer OS\"') || document.fonts.check('16px \"Khmer OS System\"')"
    )
    assert fonts
