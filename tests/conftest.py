"""The shared cast and clients for every test, and guards for tests needing real services.

The cast: `staff` (mih_staff), `officer` (unido_officer), `partner` (partner role),
`superuser`; each has a logged-in client. Tests that need PostgreSQL, Redis or Chromium use
the `postgres`, `redis_url` and `chromium_path` fixtures: outside CI they skip and say why,
in CI (CI=true) they fail, so a missing service can never pass silently.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from pcp_portal import roles

# Property tests (tests/reports/test_rollups.py): a bounded number of examples, so each runs in well
# under a minute in CI; no example database on disk, so every run starts alike. HYPOTHESIS_PROFILE=
# thorough runs many more by hand. The function-scoped `db` fixture is fine here: each example
# rolls its own changes back.
_PROPERTY_TESTS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
hypothesis_settings.register_profile("ci", max_examples=20, **_PROPERTY_TESTS)
hypothesis_settings.register_profile("thorough", max_examples=500, **_PROPERTY_TESTS)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip outside CI, fail in CI, when a real service a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI needs this: {reason}")
    pytest.skip(reason)


def _make_user(django_user_model, username: str, role: str | None, **extra):
    user = django_user_model.objects.create_user(username=username, password="correct horse battery", **extra)
    if role:
        # get_or_create: transactional tests flush the groups the roles migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def staff(db, django_user_model):
    return _make_user(
        django_user_model, "sophea.staff", roles.MIH_STAFF, first_name="Sophea", last_name="Chan"
    )


@pytest.fixture
def staff2(db, django_user_model):
    return _make_user(django_user_model, "dara.staff", roles.MIH_STAFF, first_name="Dara", last_name="Keo")


@pytest.fixture
def officer(db, django_user_model):
    return _make_user(django_user_model, "anna.officer", roles.UNIDO_OFFICER, first_name="Anna")


@pytest.fixture
def partner(db, django_user_model):
    return _make_user(django_user_model, "partner.system", roles.PARTNER)


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "correct horse battery")


def _client_for(client_class, user):
    client = client_class()
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(staff):
    from django.test import Client

    return _client_for(Client, staff)


@pytest.fixture
def officer_client(officer):
    from django.test import Client

    return _client_for(Client, officer)


@pytest.fixture
def partner_client(partner):
    from django.test import Client

    return _client_for(Client, partner)


@pytest.fixture
def superuser_client(superuser):
    from django.test import Client

    return _client_for(Client, superuser)


@pytest.fixture
def public_record(db):
    """The public record loaded through the real loader."""
    from courses.public_record import load_public_record

    return load_public_record()


@pytest.fixture
def postgres(db):
    from django.db import connection

    require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL=postgres://...")
    return connection


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    require(url.startswith("redis://") and _reachable(url), f"needs a Redis server at {url}")
    return url


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    require(os.path.exists(CHROMIUM), f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Chromium (Debian's, driven by Playwright) for the whole run."""
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test
    # body are still synchronous and safe, so allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Factory for pages in fresh browser contexts; `new_page(user=..., locale="km")` logs in first."""
    contexts = []

    def make(user=None, *, locale: str = "en", viewport=None):
        context = browser.new_context(locale=locale, viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.base_url = live_server.url
        if locale != "en":
            context.add_cookies([{"name": "django_language", "value": locale, "url": live_server.url}])
        if user is not None:
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("input[name=username]", user.username)
            page.fill("input[name=password]", "correct horse battery")
            page.click("form.login-form button[type=submit]")
            page.wait_for_load_state("networkidle")
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ for people to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(autouse=True)
def _role_groups_for_browser_tests(request):
    """Transactional (browser) tests flush every table, the role groups a migration made too: remake them."""
    if request.node.get_closest_marker("browser") is None:
        return
    request.getfixturevalue("transactional_db")
    for role in roles.ROLES:
        Group.objects.get_or_create(name=role)


@pytest.fixture(autouse=True)
def _verify_rate_limit_out_of_the_way(settings):
    """/verify/ counts checks per address in the cache; tests share 127.0.0.1, so lift the limit.
    tests/reports/test_verify.py sets it back low to test it."""
    settings.PCP_VERIFY_PER_MINUTE = 1_000_000


@pytest.fixture(autouse=True)
def _figures_refresh_on_change_off(settings):
    """A change queues a figures refresh after its commit: one more outbox task and commit hook,
    which tests counting their own queued work would count. tests/reports/test_snapshot.py turns
    it back on to test it."""
    settings.PCP_FIGURES_SNAPSHOT_ON_CHANGE = False


@pytest.fixture(autouse=True)
def _english_unless_a_test_asks():
    """Start every test in English: a request in Khmer leaves Khmer active in the thread (LocaleMiddleware
    activates the request's language and nothing resets it), which would leak into the next test."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


def point_celery_at(url: str) -> None:
    """Make this process's Celery app publish to `url` from now on (a private or a dead broker).

    Celery caches connections in three places: the app's pool, its producer pool, and kombu's
    global pools keyed by URL (which would hand back a pool closed by an earlier switch).
    """
    from kombu import pools

    from pcp_portal.celery import app

    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
