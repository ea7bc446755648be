"""WCAG 2.1 AA, checked by axe-core on every page each role can reach, in English and Khmer, on a
desktop and a phone.

The pages come from the site-wide permission matrix (tests/test_permission_matrix.py): every
GET row that answers a role with a page, and every POST row that answers with the form again
(the form with its errors); a page added to the matrix is checked here without a change. Beside
them, the states the matrix does not reach: an empty portal, a wrong password, an import preview
with row errors, a course and a register with nobody enrolled, a genuine certificate.

A critical or serious violation fails the test, naming rule, selector and page; moderate and minor
ones are written to var/axe/summary.txt (its path is printed at the end of the run). Beside axe's
rules, each page is held to WCAG 1.4.10 Reflow, which axe does not test: on the 390 px phone the
page does not scroll sideways (a wide table scrolls inside its own region), reported as a serious
"reflow" finding naming what sticks out.

One browser for the run, one context per role, language and viewport, one tab reused for all of
its pages.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from participants.models import AttendanceStatus
from tests.browser.axe import ROOT, SUMMARIES, AxeReport, axe_core_path, axe_core_version
from tests.conftest import require
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    OfficialFactory,
    SessionFactory,
)
from tests.test_permission_matrix import MATRIX, ROLES, world_objects

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LANGUAGES = ("en", "km")
SUMMARY_DIR = ROOT / "var" / "axe"

# Answers that are a page of their own (a redirect's target is checked where it is reached).
PAGE_STATUSES = {200, 400, 403, 404, 409}
NOT_HTML = (".csv", ".xlsx", ".pdf", ".ics", ".json", ".zip", ".js", "/healthz", "/readyz", "/api/")

# Pages of an empty portal, read before anything exists (empty lists and tables).
EMPTY = {
    "mih_staff": [
        "/dashboard/",
        "/courses/",
        "/reports/",
        "/reports/ministries/",
        "/reports/sessions/",
        "/imports/",
    ],
    "superuser": ["/audit/"],
}


def matrix_pages(role: str) -> list[tuple[str, str, int]]:
    """(method, path template, status) of the matrix rows that show `role` a page."""
    pages = []
    for method, template, expected in MATRIX:
        status = expected[role]
        if template.endswith(NOT_HTML) or template.startswith("/api/") or status not in PAGE_STATUSES:
            continue
        if method == "POST" and status != 200:  # only the forms shown again with their errors
            continue
        pages.append((method, template, status))
    return pages


# The states the matrix does not reach: (roles, label, path template).
EXTRA = [
    (("mih_staff", "superuser"), "import preview with row errors", "/imports/batch/{error_batch}/"),
    (("mih_staff", "superuser"), "import read by a worker", "/imports/batch/{working_batch}/"),
    (("unido_officer", "mih_staff"), "a course with nobody enrolled", "/courses/{empty_course}/"),
    (("unido_officer", "mih_staff"), "a register with nobody enrolled", "/sessions/{empty_session}/"),
    (("anonymous",), "a genuine certificate", "/verify/{certificate}/"),
]


@pytest.fixture(scope="session")
def axe_source() -> str:
    path = axe_core_path()
    require(path.exists(), f"needs axe-core at {path.relative_to(ROOT)}: run `make axe-core` (npm)")
    return path.read_text(encoding="utf-8")


def a11y_world(staff, editor_upload) -> dict:
    """The matrix's world, with a full register, an import with row errors and a certificate."""
    from courses.models import Session
    from ministries.models import Ministry
    from participants.imports.plan import queue_preview

    world = world_objects(staff)

    session = Session.objects.get(pk=world["session"])
    course = session.course
    ministry = Ministry.objects.get(code="misti")  # the public record's
    statuses = list(AttendanceStatus.values)
    for n in range(22):
        if n % 5 == 4:  # an official known by the Khmer name alone
            official = OfficialFactory(
                family_name="", given_name="", name_km=f"ចាន់ សុភា {n}", ministry=ministry
            )
        else:
            official = OfficialFactory(family_name=f"Chan{n:02d}", ministry=ministry)
        enrollment = EnrollmentFactory(course=course, official=official)
        if n < 12:
            AttendanceFactory(
                enrollment=enrollment, session=session, status=statuses[n % 4], recorded_by=staff
            )
    from participants.certificates import certificates_issue_for_course

    certificate = certificates_issue_for_course(course=course, issued_by=staff)
    empty_course = CourseFactory(title="Quality infrastructure (no one enrolled yet)")
    empty_session = SessionFactory(
        course=empty_course, starts_at=session.starts_at + datetime.timedelta(days=7)
    )
    world.update(
        error_batch=editor_upload(),
        working_batch=queue_preview(
            kind="officials", filename="nominees.csv", data=b"Family name,Ministry\nSok,MISTI\n", user=staff
        ).pk,
        empty_course=empty_course.pk,
        empty_session=empty_session.pk,
        certificate=certificate[0].code if certificate else "NO-SUCH-CODE",
    )
    # The exports page with a job in each state beside the matrix's finished one.
    from participants.models import ExportJob

    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(hours=1)
    ExportJob.objects.create(
        user=staff, report="attendance", format="xlsx", file_name="running.xlsx", state="running",
        rows_done=4000, rows_total=10000, started_at=now, expires_at=later,
    )  # fmt: skip
    ExportJob.objects.create(
        user=staff, report="attendance", format="xlsx", file_name="failed.xlsx", state="failed",
        reason="The worker writing this export stopped before it finished.", expires_at=later,
    )  # fmt: skip
    return world


@pytest.fixture
def editor_upload(staff, public_record):
    """An officials import whose preview has a row in error, uploaded through the page."""

    def upload() -> int:
        from participants.imports.tasks import preview_batch
        from participants.models import ImportBatch
        from tests.imports.conftest import file_bytes

        client = Client()
        client.force_login(staff)
        name = "officials_200_good_1_bad.csv"
        client.post("/imports/officials/new/", {"file": _named(name, file_bytes(name))})
        batch = ImportBatch.objects.latest("pk").pk
        preview_batch(batch)  # what the imports' worker does with it
        return batch

    return upload


def _named(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def _log_in(context, user, base_url: str) -> None:
    """A session made on the server, handed to the browser as its cookie: no log-in page per context."""
    from django.conf import settings

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])


def _post_empty_form(page, path: str):
    """Submit an empty form (the CSRF token only) to `path`, as the matrix's probe does; the answer
    is the form shown again with its errors."""
    with page.expect_navigation() as navigation:
        page.evaluate(
            """(path) => {
              const form = document.createElement("form");
              form.method = "post"; form.action = path;
              const token = document.createElement("input");
              token.type = "hidden"; token.name = "csrfmiddlewaretoken";
              token.value = document.querySelector("input[name=csrfmiddlewaretoken]").value;
              form.append(token); document.body.append(form); form.submit();
            }""",
            path,
        )
    return navigation.value


def _wrong_password(page, base: str, username: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "not the password")
    with page.expect_navigation():
        page.click("form.login-form button[type=submit]")


def test_every_page_meets_wcag_21_aa_for_every_role_language_and_viewport(
    browser, live_server, axe_source, staff, partner, officer, superuser, editor_upload, settings
):
    # The check-in code and pass in the matrix's URLs are made once, before the sweep; on a loaded
    # machine the sweep outlasts their lifetimes (60 s and 15 min), which is not what it checks.
    settings.PCP_CHECK_IN_VALID_SECONDS = settings.PCP_CHECK_IN_PASS_SECONDS = 6 * 60 * 60
    users = {
        "anonymous": None,
        "partner": partner,
        "unido_officer": officer,
        "mih_staff": staff,
        "superuser": superuser,
    }
    grid = [(language, viewport) for language in LANGUAGES for viewport in VIEWPORTS]
    report = AxeReport()
    base = live_server.url
    pages = {}

    def tab(role: str, language: str, viewport: str):
        """The one tab of the context for this role, language and viewport, made when first needed."""
        if (role, language, viewport) not in pages:
            context = browser.new_context(
                locale=language,
                viewport=VIEWPORTS[viewport],
                is_mobile=viewport == "phone",
                has_touch=viewport == "phone",
            )
            context.set_default_timeout(15_000)
            # In every document of the context, before the page's own scripts; its CSP does not apply.
            context.add_init_script(axe_source)
            context.add_cookies([{"name": "django_language", "value": language, "url": base}])
            if users[role] is not None:
                _log_in(context, users[role], base)
            pages[role, language, viewport] = context.new_page()
        return pages[role, language, viewport]

    def where(language: str, viewport: str) -> str:
        return f"{language}, {VIEWPORTS[viewport]['width']}x{VIEWPORTS[viewport]['height']}"

    def visit(page, role: str, language: str, viewport: str, path: str, status: int, label: str) -> None:
        """Read the page; open and check it unless its header and content were each checked already."""
        label = f"{label} as {role}, {where(language, viewport)}"
        response = page.request.get(base + path, max_redirects=0)
        assert response.status == status, label
        if not report.already_checked(where(language, viewport), label, response.text()):
            page.goto(base + path)
            report.check(page, label)

    def check(page, role: str, language: str, viewport: str, label: str, html: str) -> None:
        """Check the page the tab shows (the answer to a form), unless its parts were each checked."""
        label = f"{label} as {role}, {where(language, viewport)}"
        if not report.already_checked(where(language, viewport), label, html):
            report.check(page, label)

    # An empty portal first: lists, tables and charts with nothing in them.
    for language, viewport in grid:
        for role, paths in EMPTY.items():
            for path in paths:
                visit(
                    tab(role, language, viewport), role, language, viewport, path, 200, f"GET {path} (empty)"
                )

    world = a11y_world(staff, editor_upload)
    for language, viewport in grid:
        for role in ROLES:
            page = tab(role, language, viewport)
            for method, template, status in matrix_pages(role):
                path = template.format(**world)
                if method == "GET":
                    visit(page, role, language, viewport, path, status, f"GET {path}")
                    continue
                if page.locator("input[name=csrfmiddlewaretoken]").count() == 0:
                    page.goto(base + "/")  # a portal page: its language form holds the CSRF token
                response = _post_empty_form(page, base + path)
                assert response.status == status, f"POST {path} as {role}"
                check(page, role, language, viewport, f"POST {path}", response.text())
            for roles, label, template in EXTRA:
                if role in roles:
                    path = template.format(**world)
                    visit(page, role, language, viewport, path, 200, f"{label}: GET {path}")

        # A wrong password: the log-in page with its error; then the lock-out after too many.
        page = tab("anonymous", language, viewport)
        _wrong_password(page, base, staff.username)
        assert page.locator(".errorlist").count() == 1
        check(page, "anonymous", language, viewport, "POST /accounts/login/ (wrong password)", page.content())
        for _attempt in range(6):
            _wrong_password(page, base, "someone.locked.out")
            if page.locator("form.login-form").count() == 0:
                break
        check(page, "anonymous", language, viewport, "POST /accounts/login/ (locked out)", page.content())
        for role in ROLES:
            pages.pop((role, language, viewport)).context.close()

    SUMMARY_DIR.mkdir(parents=True, exist_ok=True)
    summary = SUMMARY_DIR / "summary.txt"
    summary.write_text(report.summary(axe_core_version()), encoding="utf-8")
    SUMMARIES.append(summary)
    failing = report.failing()
    assert not failing, f"{len(failing)} critical/serious axe finding(s):\n{report.describe(failing)}"
