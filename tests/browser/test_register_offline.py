"""The register without a connection, in real Chromium: marks kept in the browser's queue survive
closing the browser, arrive once, in order; a conflict is shown side by side for a choice; a mark
the server refuses for good says why on its row; the phone's first screen shows the queue."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from courses.services import session_cancel
from participants.models import Attendance
from participants.services import attendance_record, enrollment_withdraw
from pcp_portal import roles
from pcp_portal.models import IdempotencyKey
from tests.conftest import CHROMIUM_ARGS, screenshot
from tests.factories import AttendanceFactory, CourseFactory, EnrollmentFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATUSES = ["late", "absent", "excused", "present"]
# The marks in the browser's queue, read straight from IndexedDB (a logged-out page has no queue script).
COUNT_MARKS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("pcp-register", 1);
  open.onsuccess = () => {
    const count = open.result.transaction("marks").objectStore("marks").count();
    count.onsuccess = () => resolve(count.result);
    count.onerror = () => reject(count.error);
  };
  open.onerror = () => reject(open.error);
})"""


@pytest.fixture
def course():
    course = CourseFactory(number=4, title="Metrology")
    for n in range(12):
        EnrollmentFactory(course=course, official__family_name=f"Chan{n:02d}")
    return course


def _enrollments(course):
    return list(course.enrollments.order_by("official__family_name", "official__given_name", "id"))


def _log_in(page, base_url, user, next_url=""):
    page.goto(f"{base_url}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "correct horse battery")
    page.click("form.login-form button[type=submit]")
    page.wait_for_load_state("networkidle")


def _waiting(page) -> str:
    return page.locator("[data-count=unsaved]").inner_text()


def test_ten_marks_made_offline_survive_closing_the_browser_and_arrive_once(
    browser, chromium_path, live_server, staff, staff2, course, tmp_path
):
    session = SessionFactory(course=course, title="No Wi-Fi at the hotel")
    enrollments = _enrollments(course)
    AttendanceFactory(enrollment=enrollments[0], session=session, status="present", recorded_by=staff)
    url = live_server.url + reverse("session_detail", args=[session.pk])
    profile = tmp_path / "profile"

    def launch():
        context = browser.browser_type.launch_persistent_context(
            str(profile), executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        context.set_default_timeout(15_000)
        return context, (context.pages[0] if context.pages else context.new_page())

    context, page = launch()
    _log_in(page, live_server.url, staff)
    page.goto(url)
    # Installing and activating the worker fetches and keeps the pages: slow on a loaded machine.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    page.reload()  # now through the worker, which keeps the page
    assert page.evaluate("() => caches.match(location.href).then((r) => !!r)")

    context.set_offline(True)
    rows = page.locator("tr.register-row")
    expected = {}
    for n in range(10):
        status = STATUSES[n % 4]
        rows.nth(n).locator(f"input[value={status}] + label").click()
        expected[enrollments[n].pk] = status
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '10'")
    assert page.locator("#register-counts .queue-since").inner_text().startswith("since ")
    assert page.locator("#register-queue-state").inner_text().startswith("No connection")
    screenshot(page, "register-offline-queue")
    with page.expect_event("dialog") as leaving:
        page.close(run_before_unload=True)
    assert leaving.value.type == "beforeunload"  # leaving with unsent marks warns
    with page.expect_event("close"):
        leaving.value.accept()
    context.close()
    assert list(Attendance.objects.values_list("status", flat=True)) == ["present"]

    # Meanwhile someone else changes the first row.
    attendance_record(
        enrollment=enrollments[0], session=session, status="excused", recorded_by=staff2, expected_version=1
    )

    context, page = launch()
    context.set_offline(True)
    page.goto(url)  # kept by the worker: opens without a connection, with the marks still waiting
    # The count is read from IndexedDB after the page opens: wait for it rather than race it.
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '10'")
    assert _waiting(page) == "10"
    assert page.locator("tr.register-row").count() == 12
    context.set_offline(False)
    # The browser's session ended with it: the marks wait for the next log-in.
    page.wait_for_function(
        "() => document.getElementById('register-queue-state').textContent.includes('Log in')"
    )
    assert Attendance.objects.count() == 1
    _log_in(page, live_server.url, staff, next_url=reverse("session_detail", args=[session.pk]))
    page.wait_for_selector("tr.queue-detail .keep-mine")
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '1'")

    stored = dict(Attendance.objects.filter(session=session).values_list("enrollment_id", "status"))
    assert stored == {**expected, enrollments[0].pk: "excused"}  # nine arrived; the first waits for a choice
    detail = page.locator("tr.queue-detail")
    assert detail.count() == 1
    text = detail.inner_text()
    assert "Late" in text and "Excused" in text and "Dara Keo" in text  # mine beside theirs, with who
    screenshot(page, "register-offline-conflict")
    detail.locator(".keep-mine").click()
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '0'")
    assert page.locator("tr.queue-detail").count() == 0

    stored = {a.enrollment_id: a for a in Attendance.objects.filter(session=session)}
    assert {pk: a.status for pk, a in stored.items()} == expected
    first = stored[enrollments[0].pk]
    assert (first.version, first.recorded_by) == (3, staff)
    assert [h.status for h in first.history.order_by("history_date")] == ["present", "excused", "late"]
    for enrollment in enrollments[1:10]:  # exactly once each: one history row, one version
        assert stored[enrollment.pk].version == 1
        assert stored[enrollment.pk].history.count() == 1
    assert IdempotencyKey.objects.count() == 11  # ten marks and the resend chosen with a new key
    context.close()


def test_a_refused_mark_says_why_on_its_row_and_the_rest_of_the_queue_is_applied(new_page, staff, course):
    enrollments = _enrollments(course)
    first = SessionFactory(course=course, title="Day one")
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    second = SessionFactory(course=course, title="Day two", starts_at=tomorrow)
    page = new_page(staff)
    page.goto(page.base_url + reverse("session_detail", args=[first.pk]))
    other = page.context.new_page()  # a second session's register, in another tab
    other.goto(page.base_url + reverse("session_detail", args=[second.pk]))
    page.context.set_offline(True)
    rows = page.locator("tr.register-row")
    for n in range(3):
        rows.nth(n).locator("input[value=present] + label").click()
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '3'")
    other.locator("tr.register-row").first.locator("input[value=late] + label").click()
    other.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '1'")
    assert "Waiting for other sessions: 3." in other.locator("#register-queue-state").inner_text()

    enrollment_withdraw(enrollment=enrollments[1], reason="moved to another ministry", changed_by=staff)
    session_cancel(session=second, reason="flood", changed_by=staff)
    page.context.set_offline(False)
    other.wait_for_selector("tr.queue-detail .refused-reason")
    reason = other.locator("tr.queue-detail .refused-reason").inner_text()
    assert "This session was cancelled; attendance cannot be recorded." in reason
    page.wait_for_selector("tr.queue-detail .refused-reason")
    refused = page.locator("tr.queue-detail")
    assert refused.count() == 1
    assert "This official has withdrawn from the course." in refused.inner_text()
    assert page.locator("tr.register-row").nth(1).get_attribute("class").count("row-error") == 1
    assert _waiting(page) == "0"
    saved = set(Attendance.objects.values_list("session_id", "enrollment_id"))
    assert saved == {(first.pk, enrollments[0].pk), (first.pk, enrollments[2].pk)}
    refused.locator(".dismiss-refused").click()
    page.wait_for_function("() => !document.querySelector('tr.queue-detail')")


def test_a_mark_after_the_editor_role_was_removed_is_refused_with_that_reason(new_page, staff, course):
    session = SessionFactory(course=course)
    page = new_page(staff)
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    page.context.set_offline(True)
    page.locator("tr.register-row").first.locator("input[value=absent] + label").click()
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '1'")
    staff.groups.remove(Group.objects.get(name=roles.MIH_STAFF))
    page.context.set_offline(False)
    page.wait_for_selector("tr.queue-detail .refused-reason")
    assert "your account may no longer record attendance" in page.locator(".refused-reason").inner_text()
    assert not Attendance.objects.exists()


def test_log_out_with_unsent_marks_asks_and_discards_only_when_told(new_page, staff, course):
    session = SessionFactory(course=course)
    page = new_page(staff)
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    page.context.set_offline(True)
    page.locator("tr.register-row").first.locator("input[value=late] + label").click()
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '1'")
    page.click("form.logout-form button")
    dialog = page.locator("#logout-dialog")
    dialog.wait_for(state="visible")
    assert "Attendance marks not sent yet: 1" in dialog.inner_text()
    dialog.locator(".logout-stay").click()
    assert not dialog.is_visible() and "/sessions/" in page.url
    page.route(re.compile(r"/register/\d+/$"), lambda route: route.abort())  # the mark still cannot go
    page.context.set_offline(False)
    page.click("form.logout-form button")
    dialog.wait_for(state="visible")
    with page.expect_navigation():
        dialog.locator(".logout-discard").click()
    page.wait_for_load_state("networkidle")
    assert "/sessions/" not in page.url
    count = page.evaluate(COUNT_MARKS)
    caches = page.evaluate("() => caches.keys()")
    assert count == 0 and not [name for name in caches if name.startswith("pcp-pages")]
    assert not Attendance.objects.exists()


def test_on_a_390px_phone_the_queue_and_the_first_row_are_on_the_first_screen(new_page, staff, course):
    session = SessionFactory(course=course)
    page = new_page(staff, viewport={"width": 390, "height": 844})
    page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
    page.context.set_offline(True)
    page.locator("tr.register-row").first.locator("input[value=present] + label").click()
    page.wait_for_function("() => document.querySelector('[data-count=unsaved]').textContent === '1'")
    page.evaluate("() => window.scrollTo(0, 0)")
    first = page.locator("tr.register-row").first.bounding_box()
    assert first["y"] + first["height"] <= 844
    for label in page.locator("tr.register-row").first.locator(".status-choices label").all():
        box = label.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
    counts = page.locator("#register-counts")
    assert counts.locator(".count-unsaved").is_visible()
    assert page.locator("#register-queue-state").is_visible()
    page.locator("tr.register-row").nth(10).scroll_into_view_if_needed()
    assert counts.evaluate("e => e.getBoundingClientRect().top") >= -1  # sticky
    screenshot(page, "register-phone-offline")
