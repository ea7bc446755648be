"""QR self check-in in real Chromium, with two browsers: the projector (staff, the check-in screen
and the register open) and an official's phone (anonymous, 390 × 844)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from participants.models import Attendance, SelfCheckIn
from tests.conftest import screenshot
from tests.factories import EnrollmentFactory, MinistryFactory, OfficialFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def session():
    session = SessionFactory(
        title="Metrology in practice",
        starts_at=timezone.now() - datetime.timedelta(minutes=5),
        venue="MISTI, Phnom Penh",
    )
    ministry = MinistryFactory(name_en="Ministry of Commerce", name_km="ក្រសួងពាណិជ្ជកម្ម", acronym="MoC")
    for n in range(6):
        EnrollmentFactory(
            course=session.course, official__family_name=f"Chan{n}", official__ministry=ministry
        )
    khmer_only = OfficialFactory(
        family_name="", given_name="", name_km="ចាន់ ស្រីមុំ", phone="097 111 2222", ministry=ministry
    )
    session.khmer_enrollment = EnrollmentFactory(course=session.course, official=khmer_only)
    return session


def _code_url(page) -> str:
    return page.locator("#check-in-qr").get_attribute("data-check-in-url")


def test_an_official_scans_the_code_on_a_phone_and_appears_on_the_register(
    new_page, staff, session, settings
):
    projector = new_page(staff)
    register = projector.context.new_page()
    register.goto(projector.base_url + reverse("session_detail", args=[session.pk]))
    register.evaluate("window.__notReloaded = true")
    row = register.locator(f"tr.register-row[data-enrollment='{session.khmer_enrollment.pk}']")
    assert row.locator("input[type=radio]:checked").count() == 0

    projector.goto(projector.base_url + reverse("check_in_screen", args=[session.pk]))
    url = _code_url(projector)
    assert url.startswith(projector.base_url + f"/c/{session.pk}/")
    assert projector.locator("#check-in-qr svg.segno").is_visible()
    assert projector.locator("#check-in-count").inner_text() == "0"
    screenshot(projector, "check-in-projector")

    phone = new_page(locale="km", viewport=PHONE)
    phone.goto(url)  # the camera opens the code's address
    assert phone.locator("html").get_attribute("lang") == "km"
    phone.fill("#check-in-q", "ស្រីមុំ")
    phone.click(".check-in-search button[type=submit]")
    matches = phone.locator(".check-in-match")
    assert matches.count() == 1
    assert "ចាន់ ស្រីមុំ" in matches.inner_text()
    assert "097" not in phone.locator("main").inner_text()  # no phone numbers on the page
    screenshot(phone, "check-in-phone-search")
    matches.click()
    phone.wait_for_selector(".check-in-done")
    screenshot(phone, "check-in-phone-done")
    attendance = Attendance.objects.get(enrollment=session.khmer_enrollment, session=session)
    assert (attendance.status, attendance.recorded_by) == ("present", None)

    # The register shows it within 5 seconds, without a reload, and the screen counts it.
    row.locator("input[value=present]:checked").wait_for(state="attached", timeout=5_000)
    assert "self check-in" in row.locator(".row-who").inner_text()
    assert register.evaluate("window.__notReloaded") is True
    assert register.locator("[data-count=present]").inner_text() == "1"
    register.locator("#check-in li", has_text="ចាន់ ស្រីមុំ").wait_for(timeout=5_000)
    from playwright.sync_api import expect  # here: without Playwright the module still collects (and skips)

    expect(projector.locator("#check-in-count")).to_have_text("1", timeout=5_000)

    # A second scan of the same official is answered with the time of the first.
    phone.goto(url)
    phone.fill("#check-in-q", "០៩៧ ១១១")  # the phone number, in Khmer digits
    phone.click(".check-in-search button[type=submit]")
    phone.locator(".check-in-match").click()
    when = timezone.localtime(SelfCheckIn.objects.get().checked_in_at).strftime("%H:%M")
    assert when in phone.locator(".check-in-refused").inner_text()

    # Staff undo it from the register: the row is unmarked again.
    register.once("dialog", lambda dialog: dialog.accept())
    register.locator("#check-in li", has_text="ចាន់ ស្រីមុំ").locator("button").click()
    register.wait_for_load_state("networkidle")
    assert not Attendance.objects.filter(enrollment=session.khmer_enrollment).exists()


def test_an_expired_code_is_refused_on_the_phone(new_page, staff, session, settings):
    projector = new_page(staff)
    projector.goto(projector.base_url + reverse("check_in_screen", args=[session.pk]))
    url = _code_url(projector)
    settings.PCP_CHECK_IN_VALID_SECONDS = 1  # the code on screen was made at least a second ago
    phone = new_page(viewport=PHONE)
    phone.wait_for_timeout(2_100)
    phone.goto(url)
    refusal = phone.locator(".check-in-refused")
    assert "This code has expired" in refusal.inner_text()
    assert phone.locator("#check-in-q").count() == 0
    screenshot(phone, "check-in-phone-expired")
    assert not Attendance.objects.exists()


def test_the_projector_screen_fits_a_tablet(new_page, staff, session):
    tablet = new_page(staff, viewport=PHONE)
    tablet.goto(tablet.base_url + reverse("check_in_screen", args=[session.pk]))
    assert tablet.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(tablet, "check-in-projector-390")
