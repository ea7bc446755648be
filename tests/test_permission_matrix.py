"""THE site-wide permission matrix: every URL pattern the resolver knows x every role x method.

Each row is one line: (method, path template, expected status per role, in ROLES order).
The API's own matrix (tests/api/test_permissions.py, run there with one key per role) is
imported and counted as covering its URLs; here it is extended with the superuser's column
for its reads. The test fails if any cell differs, and if the resolver knows a URL pattern that
no row names (a new page must come with its row).

Rules (pcp_portal/roles.py): mih_staff and the superuser edit; unido_officer reads (a write is
403); a partner gets no portal page (403) but reads the API; anonymous is sent to log in
(302) on pages. Public: the landing page, log-in, certificate verification, the opt-out link,
/healthz and /readyz. An empty POST is the probe for writes: the editor's answer is the form's
refusal (400, or the page again with its errors, 200) or a redirect (302) — never a 500.
"""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from courses.models import Indicator, IndicatorPeriod, Result
from courses.services import calendar_feed_token_create
from tests.api.test_permissions import API_MATRIX
from tests.factories import AttendanceFactory, EnrollmentFactory, SessionFactory

ROLES = ("anonymous", "partner", "unido_officer", "mih_staff", "superuser")
ADMIN = f"/{settings.ADMIN_URL}"


def cells(anonymous, partner, officer, staff, superuser) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, partner, officer, staff, superuser), strict=True))


PAGE = cells(302, 403, 200, 200, 200)  # a portal page everyone with a portal role reads
EDIT_PAGE = cells(302, 403, 403, 200, 200)  # a form only editors open
PUBLIC = cells(200, 200, 200, 200, 200)
SUPERUSER_ONLY = cells(302, 403, 403, 403, 200)

# (method, path template, expected). Templates name objects of the `world` fixture.
MATRIX: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/", PUBLIC),
    ("GET", "/accounts/login/", PUBLIC),
    ("POST", "/accounts/login/", PUBLIC),  # the form again, with its error
    ("GET", "/accounts/two-factor/", cells(302, 200, 200, 200, 200)),
    ("GET", "/accounts/preferences/", PAGE),
    ("POST", "/accounts/preferences/", cells(302, 403, 200, 200, 200)),  # the form again: no choice
    ("POST", "/accounts/logout/", cells(302, 302, 302, 302, 302)),
    ("GET", "/healthz", PUBLIC),
    ("GET", "/readyz", PUBLIC),
    ("GET", "/sw.js", PUBLIC),  # the service worker: no page of its own, nothing personal
    ("POST", "/i18n/setlang/", cells(302, 302, 302, 302, 302)),
    ("GET", "/audit/", SUPERUSER_ONLY),
    ("GET", "/audit/export.csv", SUPERUSER_ONLY),
    ("GET", ADMIN, cells(302, 302, 302, 302, 200)),
    ("GET", "/dashboard/", PAGE),
    ("GET", "/courses/", PAGE),
    ("GET", "/courses/new/", EDIT_PAGE),
    ("POST", "/courses/new/", cells(302, 403, 403, 200, 200)),
    ("GET", "/courses/{course}/", PAGE),
    ("GET", "/courses/{course}/edit/", EDIT_PAGE),
    ("POST", "/courses/{course}/edit/", cells(302, 403, 403, 200, 200)),
    ("GET", "/courses/{course}/cancel/", EDIT_PAGE),
    ("POST", "/courses/{course}/cancel/", cells(302, 403, 403, 200, 200)),  # no reason: the form again
    ("GET", "/courses/{course}/sessions/new/", EDIT_PAGE),
    ("POST", "/courses/{course}/sessions/new/", cells(302, 403, 403, 200, 200)),
    ("GET", "/sessions/{session}/", PAGE),
    ("GET", "/sessions/{session}/edit/", EDIT_PAGE),
    ("POST", "/sessions/{session}/edit/", cells(302, 403, 403, 200, 200)),
    ("GET", "/sessions/{session}/cancel/", EDIT_PAGE),
    ("POST", "/sessions/{session}/cancel/", cells(302, 403, 403, 200, 200)),
    # The session's paper sign-in sheet: readers print it, editors take its template to import.
    ("GET", "/sessions/{session}/sign-in-sheet.pdf", PAGE),
    ("GET", "/sessions/{session}/sign-in-sheet.csv", EDIT_PAGE),
    ("GET", "/sessions/{session}/sign-in-sheet.xlsx", EDIT_PAGE),
    ("GET", "/sessions/{session}/sign-in-sheet.ods", cells(302, 403, 403, 404, 404)),
    ("POST", "/courses/{course}/enrol/", cells(302, 403, 403, 400, 400)),
    ("POST", "/courses/{course}/walk-in/", cells(302, 403, 403, 400, 400)),
    ("POST", "/enrolments/{enrollment}/withdraw/", cells(302, 403, 403, 302, 302)),
    ("POST", "/enrolments/{enrollment}/reinstate/", cells(302, 403, 403, 302, 302)),
    ("POST", "/sessions/{session}/register/", cells(302, 403, 403, 302, 302)),
    # The register's script posts here: refusals in JSON, 401 rather than a log-in page.
    ("POST", "/sessions/{session}/register/{enrollment}/", cells(401, 403, 403, 400, 400)),
    # The series: readers read and export, editors set its completion rule.
    ("GET", "/series/{project}/", PAGE),
    ("GET", "/series/{project}/export.csv", PAGE),
    ("GET", "/series/{project}/export.xlsx", PAGE),
    ("GET", "/series/{project}/export.pdf", cells(302, 403, 404, 404, 404)),
    ("POST", "/series/{project}/rule/", cells(302, 403, 403, 302, 302)),  # blank: the default rule
    # Series certificates: editors issue (none completed here: nothing issued, back to the page).
    ("POST", "/series/{project}/certificates/issue/", cells(302, 403, 403, 302, 302)),
    ("GET", "/series/{project}/certificates.pdf", cells(302, 403, 400, 400, 400)),  # none issued yet
    ("GET", "/series/999999/", cells(302, 403, 404, 404, 404)),
    # Imports: editors only.
    ("GET", "/imports/", EDIT_PAGE),
    ("GET", "/imports/officials/new/", EDIT_PAGE),
    ("POST", "/imports/officials/new/", cells(302, 403, 403, 400, 400)),  # no file: refused
    ("GET", "/imports/officials/template-en.csv", EDIT_PAGE),
    ("GET", "/imports/signin/new/", EDIT_PAGE),
    ("GET", "/imports/signin/template-km.xlsx", EDIT_PAGE),
    ("GET", "/imports/batch/{batch}/", EDIT_PAGE),
    ("POST", "/imports/batch/{batch}/confirm/", cells(302, 403, 403, 302, 302)),  # queued once; again a no-op
    ("POST", "/imports/batch/{batch}/discard/", cells(302, 403, 403, 302, 302)),
    ("GET", "/imports/batch/{batch}/errors.csv", EDIT_PAGE),
    ("GET", "/imports/batch/{batch}/progress.json", EDIT_PAGE),
    # Reports, exports and certificates: readers read, editors issue; verification is public.
    ("GET", "/reports/", PAGE),
    ("GET", "/reports/ministries/", PAGE),
    ("GET", "/reports/sessions/", PAGE),
    ("GET", "/reports/courses/{course}/", PAGE),
    ("POST", "/reports/courses/{course}/certificates/", cells(302, 403, 403, 302, 302)),
    ("GET", "/reports/courses/{course}/certificates.pdf", cells(302, 403, 400, 400, 400)),  # none issued yet
    ("GET", "/reports/certificates/NO-SUCH-CODE.pdf", cells(302, 403, 404, 404, 404)),
    ("GET", "/reports/export/programme.csv", PAGE),
    ("GET", "/reports/export/programme.xlsx", PAGE),
    ("GET", "/reports/export/attendance.csv", PAGE),
    ("GET", "/reports/export/series.csv", PAGE),
    ("GET", "/reports/export/series.pdf", PAGE),
    ("GET", "/reports/export/nosuch.csv", cells(302, 403, 404, 404, 404)),
    # Exports a worker wrote: the list shows one's own; the staff user's file is theirs, and
    # officers and the superuser read every report (tests/reports/test_export_jobs.py: no one else).
    ("GET", "/reports/exports/", PAGE),
    ("GET", "/reports/exports/{export}/progress.json", PAGE),
    ("GET", "/reports/exports/{export}/matrix.csv", PAGE),
    ("GET", "/reports/iati.xml", cells(302, 403, 409, 409, 409)),  # no identifier set: what is missing
    ("GET", "/results/projects/{project}/", PAGE),
    ("GET", "/results/projects/{project}/progress.xlsx", PAGE),
    ("GET", "/results/projects/{project}/pack.zip", PAGE),
    ("GET", "/results/projects/{project}/results/new/", EDIT_PAGE),
    ("GET", "/results/programmes/{programme}/", PAGE),
    ("GET", "/results/programmes/{programme}/progress.xlsx", PAGE),
    ("GET", "/results/programmes/{programme}/results/new/", EDIT_PAGE),
    ("POST", "/results/programmes/{programme}/results/new/", cells(302, 403, 403, 400, 400)),
    ("POST", "/results/projects/{project}/results/new/", cells(302, 403, 403, 400, 400)),
    ("GET", "/results/results/{result}/edit/", EDIT_PAGE),
    ("POST", "/results/results/{result}/edit/", cells(302, 403, 403, 400, 400)),
    ("GET", "/results/results/{result}/indicators/new/", EDIT_PAGE),
    ("POST", "/results/results/{result}/indicators/new/", cells(302, 403, 403, 400, 400)),
    ("GET", "/results/indicators/{indicator}/edit/", EDIT_PAGE),
    ("POST", "/results/indicators/{indicator}/edit/", cells(302, 403, 403, 400, 400)),
    ("GET", "/results/indicators/{indicator}/periods/new/", EDIT_PAGE),
    ("POST", "/results/indicators/{indicator}/periods/new/", cells(302, 403, 403, 400, 400)),
    ("GET", "/results/periods/{period}/edit/", EDIT_PAGE),
    ("POST", "/results/periods/{period}/edit/", cells(302, 403, 403, 400, 400)),
    ("GET", "/public/", PUBLIC),
    ("GET", "/public/projects/{project}/", PUBLIC),
    ("GET", "/public/courses/{course}/", PUBLIC),
    ("GET", "/public/officials-trained.csv", PUBLIC),
    ("GET", "/public/officials-trained.json", PUBLIC),
    ("GET", "/verify/", PUBLIC),
    ("GET", "/verify/NO-SUCH-CODE/", cells(404, 404, 404, 404, 404)),
    ("GET", "/api/v1/reports/attendance-summary/", cells(401, 200, 200, 200, 200)),
    # Reminders: editors resend; the opt-out link is public (signed token).
    ("POST", "/reminders/{delivery}/resend/", cells(302, 403, 403, 302, 302)),
    ("POST", "/sessions/{session}/reminders/resend-failed/", cells(302, 403, 403, 302, 302)),
    ("POST", "/courses/{course}/reminders/resend-failed/", cells(302, 403, 403, 302, 302)),
    ("GET", "/reminders/opt-out/{opt_out}/", PUBLIC),
    ("POST", "/reminders/opt-out/{opt_out}/", PUBLIC),
    ("GET", "/reminders/opt-out/not-a-token/", cells(400, 400, 400, 400, 400)),
    # The calendar: readers read it and manage their own feeds (another's is "not found"); a feed
    # is public at its secret address, and any other address is 404 for everyone.
    ("GET", "/calendar/", PAGE),
    ("GET", "/calendar/?month=2026-03&course={course}", PAGE),
    ("GET", "/calendar/week/", PAGE),
    ("GET", "/calendar/feeds/", PAGE),
    ("POST", "/calendar/feeds/", cells(302, 403, 200, 200, 200)),  # no scope: the form again
    ("POST", "/calendar/feeds/{feed}/revoke/", cells(302, 403, 404, 302, 404)),  # the staff user's feed
    ("GET", "/calendar/feed/{feed_secret}.ics", PUBLIC),
    ("GET", "/calendar/feed/not-a-token.ics", cells(404, 404, 404, 404, 404)),
    # Search: readers search (contact data is matched for editors only, tests/search/).
    ("GET", "/search/", PAGE),
    ("GET", "/search/?q=chan", PAGE),
    # The Telegram message's calendar button (signed token), and the bot's webhook: no bot is
    # configured here, so it is not there (tests/telegram/test_webhook.py with a bot).
    ("GET", "/reminders/calendar/{calendar}/session.ics", PUBLIC),
    ("GET", "/reminders/calendar/not-a-token/session.ics", cells(404, 404, 404, 404, 404)),
    ("POST", "/telegram/webhook/", cells(404, 404, 404, 404, 404)),
    # Officials: readers read (contact data on the page for editors only), editors change and merge.
    ("GET", "/officials/", PAGE),
    ("GET", "/officials/{official}/", PAGE),
    ("GET", "/officials/{official}/transcript/", PAGE),
    ("GET", "/officials/{official}/transcript.csv", PAGE),
    ("GET", "/officials/{official}/transcript.pdf", PAGE),
    ("GET", "/officials/{official}/edit/", EDIT_PAGE),
    ("POST", "/officials/{official}/edit/", cells(302, 403, 403, 400, 400)),  # empty: the form's refusal
    ("GET", "/officials/merge/", EDIT_PAGE),
    ("POST", "/officials/merge/", cells(302, 403, 403, 400, 400)),  # no officials named: refused
    ("POST", "/officials/merges/987654/undo/", cells(302, 403, 403, 404, 404)),
    # Surveys: the answering page is public behind a personal signed link.
    ("GET", "/survey/{survey_link}/", PUBLIC),
    ("POST", "/survey/{survey_link}/", cells(400, 400, 400, 400, 400)),  # nothing answered: refused
    ("GET", "/survey/not-a-token/", cells(404, 404, 404, 404, 404)),
    ("GET", "/courses/{course}/surveys/", PAGE),
    ("POST", "/courses/{course}/surveys/", cells(302, 403, 403, 400, 400)),  # no title: refused
    ("GET", "/surveys/{instrument}/", PAGE),
    ("POST", "/surveys/{instrument}/edit/", cells(302, 403, 403, 400, 400)),
    ("POST", "/surveys/{instrument}/questions/", cells(302, 403, 403, 400, 400)),
    ("POST", "/surveys/questions/{question}/delete/", cells(302, 403, 403, 302, 404)),  # gone: removed once
    ("POST", "/surveys/{instrument}/new-version/", cells(302, 403, 403, 302, 302)),
    ("GET", "/surveys/{instrument}/tablet/", EDIT_PAGE),
    ("POST", "/surveys/{instrument}/tablet/", cells(302, 403, 403, 302, 302)),  # no name: asked again
    ("GET", "/surveys/{instrument}/results/", PAGE),
    ("GET", "/surveys/{instrument}/results.csv", PAGE),
    ("GET", "/surveys/{instrument}/results.xlsx", PAGE),
    # QR self check-in: the screen for the projector and its poll are editors'; the register's
    # poll is readers'; the page the code opens is public (the code, then its pass, is the key).
    ("GET", "/sessions/{check_in_session}/check-in/", EDIT_PAGE),
    ("GET", "/sessions/{check_in_session}/check-in/code.json", EDIT_PAGE),
    ("GET", "/sessions/{session}/register/live.json", PAGE),
    ("POST", "/check-ins/987654/undo/", cells(302, 403, 403, 404, 404)),
    ("POST", "/walk-ins/987654/confirm/", cells(302, 403, 403, 404, 404)),
    ("GET", "/c/{check_in_session}/{check_in_code}/", cells(302, 302, 302, 302, 302)),  # on with a pass
    ("GET", "/c/{check_in_session}/not-a-code/", cells(400, 400, 400, 400, 400)),
    ("GET", "/c/{check_in_session}/?pass={check_in_pass}", PUBLIC),
    ("GET", "/c/{check_in_session}/?pass={check_in_pass}&q=sok", PUBLIC),
    ("POST", "/c/{check_in_session}/?pass={check_in_pass}", PUBLIC),  # no action: the page again
    ("GET", "/c/{check_in_session}/?pass=forged", cells(400, 400, 400, 400, 400)),
]


def world_objects(uploader) -> dict:
    from participants.checkin import tokens as check_in_tokens
    from participants.models import ImportBatch, ReminderDelivery
    from participants.reminders import calendar_token, opt_out_token
    from participants.surveys import services as survey_services

    feed, feed_secret = calendar_feed_token_create(owner=uploader, scope="personal")

    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    check_in_session = SessionFactory(starts_at=timezone.now())  # a course of its own: it counts for nobody
    AttendanceFactory(enrollment=enrollment, session=session)
    batch = ImportBatch.objects.create(
        kind="officials", filename="officials.csv", checksum="0" * 64, uploaded_by=uploader
    )
    delivery = ReminderDelivery.objects.create(
        official=enrollment.official, session=session, kind="reminder", key="2h@matrix", status="failed"
    )
    project = session.course.project
    result = Result.objects.create(
        programme=project.programme, project=project, level=Result.Level.OUTPUT, title_en="Officials trained"
    )
    indicator = Indicator.objects.create(
        result=result, title_en="Officials trained", source="computed", definition="trained"
    )
    period = IndicatorPeriod.objects.create(
        indicator=indicator,
        period_start=datetime.date(2020, 1, 1),
        period_end=datetime.date(2020, 12, 31),
        target_value=10,
    )
    instrument = survey_services.instrument_create(course=session.course, kind="pre", title_en="Matrix test")
    question = survey_services.question_add(
        instrument=instrument,
        type="single",
        text_en="Q",
        points=1,
        choices=[("A", "", True), ("B", "", False)],
    )
    return {
        "instrument": instrument.pk,
        "question": question.pk,
        "survey_link": survey_services.link_token(instrument=instrument, official=enrollment.official),
        "result": result.pk,
        "indicator": indicator.pk,
        "period": period.pk,
        "course": session.course_id,
        "project": session.course.project_id,
        "programme": session.course.project.programme_id,
        "session": session.pk,
        "enrollment": enrollment.pk,
        "batch": batch.pk,
        "delivery": delivery.pk,
        "opt_out": opt_out_token(enrollment.official),
        "feed": feed.pk,
        "feed_secret": feed_secret,
        "calendar": calendar_token(delivery),
        "official": enrollment.official_id,
        "export": _export_job(uploader).pk,
        "check_in_session": check_in_session.pk,
        "check_in_code": check_in_tokens.make_code(check_in_session.pk),
        "check_in_pass": check_in_tokens.make_pass(check_in_session.pk),
    }


def _export_job(owner):
    from participants.models import ExportJob

    settings.PCP_EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    (settings.PCP_EXPORT_DIR / "matrix.csv").write_bytes(b"\xef\xbb\xbfCourse\r\n")
    return ExportJob.objects.create(
        user=owner,
        report="programme",
        format="csv",
        file_name="matrix.csv",
        state=ExportJob.State.DONE,
        path="matrix.csv",
        expires_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )


@pytest.fixture
def role_clients(db, partner, officer, staff, superuser):
    made = {"anonymous": Client()}
    for role, user in zip(ROLES[1:], (partner, officer, staff, superuser), strict=True):
        made[role] = Client()
        made[role].force_login(user)
    return made


def call(client, method: str, path: str):
    return getattr(client, method.lower())(path)


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {t}" for m, t, _e in MATRIX])
def test_each_role_gets_the_expected_status_on_each_page(role_clients, staff, method, template, expected):
    path = template.format(**world_objects(staff))
    got = {role: call(role_clients[role], method, path).status_code for role in ROLES}  # editors last
    assert got == expected


def test_the_superuser_reads_every_api_resource_with_a_portal_log_in(role_clients, staff):
    from tests.api.conftest import API

    world = world_objects(staff)
    for method, template, _body, expected in API_MATRIX:
        readable = expected["mih_staff"] == 200  # not the rows of addresses that name nothing
        if method == "GET" and "{" not in template and template.startswith(API) and readable:
            assert role_clients["superuser"].get(template.format(**world)).status_code == 200, template


def _route_names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _route_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}"


def _covered_names() -> set[str]:
    from tests.api.test_permissions import resolve_path  # noqa: F401 - the API rows use its templates

    names = set()
    sample = {
        "course": 1,
        "project": 1,
        "programme": 1,
        "session": 1,
        "enrollment": 1,
        "batch": 1,
        "delivery": 1,
        "official": 1,
        "opt_out": "x",
        "calendar": "x",
        "instrument": 1,
        "question": 1,
        "survey_link": "x",
        "feed": 1,
        "feed_secret": "x",
        "result": 1,
        "indicator": 1,
        "period": 1,
        "export": 1,
        "check_in_session": 1,
        "check_in_code": "x",
        "check_in_pass": "x",
    }
    for _method, template, _expected in MATRIX:
        names.add(resolve(template.format(**sample).split("?")[0]).view_name)
    api_sample = dict.fromkeys(
        ("programme", "project", "course", "session", "ministry", "official", "enrollment", "attendance"), 1
    )
    for _method, template, _body, _expected in API_MATRIX:
        names.add(resolve(template.format(**api_sample)).view_name)
    return names


# Patterns no row names, each with its reason. Keep this short.
NOT_IN_MATRIX = {
    # Django's admin: every page of it requires is_staff and an admin permission; the matrix
    # checks its entry (a 302 to the admin log-in for everyone but the superuser).
    "admin:*",
}


def test_every_url_the_resolver_knows_is_in_the_matrix():
    known = set(_route_names(get_resolver().url_patterns))
    missing = {
        name
        for name in known - _covered_names()
        if not any(name.startswith(prefix.rstrip("*")) for prefix in NOT_IN_MATRIX)
    }
    assert missing == set(), f"add a row for each of: {sorted(missing)}"
