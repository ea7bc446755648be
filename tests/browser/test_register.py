"""A staff member at the door of a training room, in real Chromium: a session, a walk-in, a register of 23."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import Session
from participants.models import Attendance, Official
from pcp_portal.models import IdempotencyKey
from tests.conftest import screenshot
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    SessionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Row index in the register (sorted by family name) -> (status, how it is marked).
MIXED = {0: "late", 3: "excused", 5: "absent", 8: "late", 13: "absent", 21: "excused"}


@pytest.fixture
def course():
    course = CourseFactory(number=3, title="Standards and Quality Infrastructure")
    ministry = MinistryFactory(name_en="Ministry of Commerce", name_km="ក្រសួងពាណិជ្ជកម្ម", acronym="MoC")
    for n in range(22):
        EnrollmentFactory(course=course, official__family_name=f"Chan{n:02d}", official__ministry=ministry)
    return course


def _wait_until_saved(page):
    page.wait_for_function(
        "() => !document.querySelector('tr.row-saving, tr.row-unsaved')"
        " && document.querySelector('[data-count=unsaved]').textContent === '0'"
    )


def _create_session(page, course, *, title):
    page.goto(page.base_url + reverse("course_detail", args=[course.pk]))
    page.click(f"a[href='{reverse('session_create', args=[course.pk])}']")
    starts = timezone.localtime() - datetime.timedelta(minutes=30)
    page.fill("#id_title", title)
    page.fill("#id_starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ends_at", (starts + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_venue", "MISTI, Phnom Penh")
    page.click("form.session-form button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions/\d+/$"))
    return Session.objects.get(title=title)


def _add_walk_in(page, course, *, family_name, email, ministry="Ministry of Commerce (MoC)"):
    page.goto(page.base_url + reverse("course_detail", args=[course.pk]))
    page.click("details.walk-in summary")
    page.fill("#id_family_name", family_name)
    page.fill("#id_given_name", "Sreymom")
    page.fill("#id_name_km", "ស្រីមុំ")
    page.select_option("#id_ministry", label=ministry)
    page.fill("#id_email", "not an email")
    page.click("form.walk-in-form button[type=submit]")
    assert page.locator(".walk-in-form .errorlist").first.is_visible()  # the bad e-mail, next to its field
    page.fill("#id_email", email)
    page.click("form.walk-in-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    return Official.objects.get(email=email)


def _mark_register(page, session):
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    rows = page.locator("tr.register-row")
    assert rows.count() == 23
    for index, status in MIXED.items():
        if index % 2:
            rows.nth(index).locator(f"input[value={status}] + label").click()
        else:  # by keyboard: focus the row's first choice and press the status key
            rows.nth(index).locator("input[type=radio]").first.focus()
            page.keyboard.press({"late": "l", "excused": "e", "absent": "a"}[status])
    rows.nth(3).locator("input.row-note").fill("sent apologies: mission abroad")
    rows.nth(3).locator("input.row-note").press("Enter")
    page.click("#mark-all-present")
    _wait_until_saved(page)
    assert page.locator("[data-count=present]").inner_text() == "17"
    return rows


def _expected(session):
    enrollments = list(
        session.course.enrollments.order_by(
            "official__family_name", "official__given_name", "official__name_km", "id"
        )
    )
    return {enrollments[i].pk: MIXED.get(i, "present") for i in range(len(enrollments))}


def test_staff_creates_a_session_enrols_a_walk_in_and_marks_a_register_of_23(new_page, staff, course):
    page = new_page(staff)
    screenshot(page, "dashboard")
    session = _create_session(page, course, title="Metrology in practice")
    walk_in = _add_walk_in(page, course, family_name="Ouk", email="sreymom.ouk@moc.gov.kh")
    assert course.enrollments.filter(official=walk_in).exists()
    assert "OUK Sreymom" in page.content()

    _mark_register(page, session)
    page.reload()
    assert page.locator("[data-count=present]").inner_text() == "17"
    assert page.locator("[data-count=late]").inner_text() == "2"
    assert page.locator("tr.register-row input[type=radio]:checked").count() == 23
    assert page.locator("tr.register-row").nth(3).locator("input.row-note").input_value() == (
        "sent apologies: mission abroad"
    )
    assert dict(
        Attendance.objects.filter(session=session).values_list("enrollment_id", "status")
    ) == _expected(session)
    assert set(Attendance.objects.values_list("recorded_by", flat=True)) == {staff.pk}
    screenshot(page, "register")


def test_the_same_in_khmer(new_page, staff, course):
    page = new_page(staff, locale="km")
    assert page.locator("html").get_attribute("lang") == "km"
    assert page.get_by_role("heading", name="ផ្ទាំងគ្រប់គ្រង").is_visible()
    session = _create_session(page, course, title="ការវាស់ស្ទង់")
    # In Khmer the ministry select offers the Khmer names.
    _add_walk_in(page, course, family_name="Ouk", email="sreymom.ouk@moc.gov.kh", ministry="ក្រសួងពាណិជ្ជកម្ម")
    rows = _mark_register(page, session)
    assert rows.first.locator("label.choice-late").inner_text() == "យឺត"
    page.reload()
    assert page.locator("#register-title").inner_text() == "បញ្ជីវត្តមាន"
    assert dict(
        Attendance.objects.filter(session=session).values_list("enrollment_id", "status")
    ) == _expected(session)
    screenshot(page, "register-km")


def test_two_staff_on_one_row_and_the_stale_one_is_told(new_page, staff, staff2, course):
    session = SessionFactory(course=course, title="Opening")
    url = reverse("session_detail", args=[session.pk])
    sophea, dara = new_page(staff), new_page(staff2)
    sophea.goto(sophea.base_url + url)
    dara.goto(dara.base_url + url)
    sophea.locator("tr.register-row").first.locator("input[value=late] + label").click()
    _wait_until_saved(sophea)
    row = dara.locator("tr.register-row").first
    row.locator("input[value=absent] + label").click()
    dara.wait_for_selector("tr.row-stale")
    message = row.locator(".row-message").inner_text()
    assert "Sophea Chan" in message and "Late" in message
    assert row.locator("input[type=radio][value=late]").is_checked()  # the register now shows the newer value
    assert Attendance.objects.get(session=session).status == "late"
    screenshot(dara, "register-stale-row")


def test_a_row_saved_while_offline_is_shown_unsaved_and_retried(new_page, staff, course):
    session = SessionFactory(course=course, title="Weak connection")
    page = new_page(staff)
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    page.context.set_offline(True)
    page.locator("tr.register-row").nth(1).locator("input[value=excused] + label").click()
    page.wait_for_selector("tr.row-unsaved")
    assert page.locator("[data-count=unsaved]").inner_text() == "1"
    assert not Attendance.objects.exists()
    page.context.set_offline(False)
    _wait_until_saved(page)
    assert Attendance.objects.get(session=session).status == "excused"


def test_a_save_whose_reply_was_lost_is_resent_and_shown_saved_not_as_a_conflict(new_page, staff, course):
    session = SessionFactory(course=course, title="Flaky Wi-Fi")
    enrollment = course.enrollments.order_by("official__family_name").first()
    AttendanceFactory(enrollment=enrollment, session=session, status="present", recorded_by=staff)
    page = new_page(staff)
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    sent = []

    def lose_the_first_reply(route):
        sent.append(route.request.header_value("Idempotency-Key"))
        if len(sent) == 1:
            route.fetch()  # the server receives and saves the row ...
            route.abort("connectionreset")  # ... and its reply never reaches the page
        else:
            route.continue_()

    page.route(re.compile(r"/register/\d+/$"), lose_the_first_reply)
    row = page.locator("tr.register-row").first
    row.locator("input[value=late] + label").click()
    page.wait_for_function("() => document.querySelector('tr.register-row').classList.contains('row-saved')")

    assert len(sent) == 2 and sent[0] and sent[0] == sent[1]  # resent, with the key of that change
    assert page.locator("tr.row-stale").count() == 0
    assert "Not saved" not in row.locator(".row-message").inner_text()
    assert row.locator("input[type=radio][value=late]").is_checked()
    attendance = Attendance.objects.get(session=session, enrollment=enrollment)
    assert (attendance.status, attendance.version) == ("late", 2)  # one version step
    assert attendance.history.count() == 2
    assert IdempotencyKey.objects.get(key=sent[0]).status_code == 200  # the resend got the stored answer
    screenshot(page, "register-reply-lost")


def test_an_officer_sees_no_edit_controls_and_a_forged_post_is_refused(new_page, officer, course):
    session = SessionFactory(course=course)
    page = new_page(officer)
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    assert page.locator("tr.register-row").count() == 22
    assert page.locator("input[type=radio]").count() == 0
    assert page.locator("#mark-all-present").count() == 0
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    enrollment = course.enrollments.first()
    response = page.request.post(
        page.base_url + reverse("register_row", args=[session.pk, enrollment.pk]),
        form={"status": "present", "version": "0"},
        headers={"X-CSRFToken": token, "Referer": page.base_url + "/"},
    )
    assert response.status == 403
    assert not Attendance.objects.exists()
