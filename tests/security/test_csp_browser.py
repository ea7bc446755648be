"""The pages run under the Content-Security-Policy: Chromium reports no violation on any of them."""

import pytest

from tests.conftest import screenshot
from tests.factories import AttendanceFactory, EnrollmentFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
            else None
        ),
    )
    # securitypolicyviolation events also catch violations the console might word differently.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return violations


def test_the_main_pages_report_no_csp_violation(new_page, staff, superuser, public_record):
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    AttendanceFactory(enrollment=enrollment, session=session)
    paths = [
        "/dashboard/",
        "/courses/",
        f"/courses/{session.course_id}/",
        f"/courses/{session.course_id}/edit/",
        f"/sessions/{session.pk}/",
        f"/sessions/{session.pk}/edit/",
        "/imports/",
        "/reports/",
        "/reports/ministries/",
        "/reports/sessions/",
        f"/reports/courses/{session.course_id}/",
        "/accounts/two-factor/",
    ]
    page = new_page(staff)
    violations = _watch(page)
    for path in paths:
        page.goto(page.base_url + path)
        page.wait_for_load_state("networkidle")
    # The register's script runs: a click on a status button must not need inline code.
    page.goto(f"{page.base_url}/sessions/{session.pk}/")
    page.wait_for_load_state("networkidle")
    screenshot(page, "csp-session")

    anonymous = new_page()
    violations += _watch(anonymous)
    for path in ("/", "/accounts/login/", "/verify/"):
        anonymous.goto(anonymous.base_url + path)
        anonymous.wait_for_load_state("networkidle")

    admin = new_page(superuser)
    violations += _watch(admin)
    for path in ("/audit/", "/audit/?show=logins"):
        admin.goto(admin.base_url + path)
        admin.wait_for_load_state("networkidle")
    screenshot(admin, "csp-audit")
    assert violations == []


def test_the_watch_would_see_an_inline_script_blocked(new_page, db):
    page = new_page()
    violations = _watch(page)
    page.goto(page.base_url + "/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ran") is None
    assert violations
