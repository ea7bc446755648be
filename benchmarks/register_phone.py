"""The register of 23 officials on a prepaid phone: how soon it can be marked, and how many bytes of
HTML it costs, against the same page sent without compression.

    .venv/bin/python benchmarks/register_phone.py [--runs 5]

Everything runs on this machine: a throw-away portal (SQLite and collected static files in a
temporary PCP_VAR_DIR, DEBUG off, gunicorn with the compose file's 3 sync workers on 127.0.0.1)
and Debian's Chromium driven by Playwright, at 390 x 844 with a phone's user agent, under
Chromium's own emulation of a poor link and a slow phone (DevTools protocol):
Network.emulateNetworkConditions at 400 kbit/s both ways with 400 ms round-trip latency, and
Emulation.setCPUThrottlingRate 4.

Measured per visit (the performance timeline of the page, so from the start of its navigation):
- usable: the "register-ready" mark that static/js/register.js sets once every control of the
  register is wired (the status buttons are in the page and enabled before the deferred script
  runs, so this is when a tap on one is saved);
- HTML bytes over the wire: the navigation entry's encodedBodySize (body as sent) and
  transferSize (with the headers).
A cold visit starts with an empty cache; a warm visit follows it in the same tab, with the
stylesheet and scripts cached (hashed names, immutable).

The baseline is the same page from the same server for a browser that does not accept gzip (the
WSGI wrapper below drops Accept-Encoding when the address has ?plain=1), i.e. the page as it was
sent before GZipMiddleware. Rounds alternate baseline and portal; the ratios printed are
median(portal) / median(baseline).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A throw-away portal: its own SQLite database and static files, never the developer's var/. The
# gunicorn workers import this module too, and inherit the benchmark's folder through the environment.
VAR = Path(os.environ.get("REGISTER_PHONE_VAR") or tempfile.mkdtemp(prefix="pcp-register-phone-"))
os.environ.pop("DATABASE_URL", None)
os.environ.update(
    REGISTER_PHONE_VAR=str(VAR),
    PCP_VAR_DIR=str(VAR),
    DEBUG="0",
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    PORTAL_BASE_URL="http://127.0.0.1",
    CELERY_BROKER_URL=f"filesystem://{VAR}/broker",
)

from benchmarks import django_setup, server  # noqa: E402, F401 - sets Django up before the apps are imported

PORT = 8731
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 12; moto e22) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
NETWORK = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
CPU_SLOWDOWN = 4

_portal = None


def application(environ, start_response):
    """gunicorn's entry point: the portal; ?plain=1 on a page asks for it uncompressed (the baseline)."""
    global _portal
    if _portal is None:
        from django.core.wsgi import get_wsgi_application

        _portal = get_wsgi_application()
    if "plain=1" in environ.get("QUERY_STRING", ""):
        environ.pop("HTTP_ACCEPT_ENCODING", None)
    return _portal(environ, start_response)


def build_portal() -> tuple[int, str]:
    """Migrate, collect static files, and make a session of 23 officials; return it and a log-in cookie."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client

    from courses.models import Course, Programme, Project, Session
    from ministries.models import Ministry
    from participants.services import attendance_record, enrollment_create, official_create
    from pcp_portal import roles

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    staff = get_user_model().objects.create_user("sophea.staff", first_name="Sophea")
    staff.groups.add(Group.objects.get_or_create(name=roles.MIH_STAFF)[0])
    misti = Ministry.objects.create(
        code="misti",
        name_en="Ministry of Industry, Science, Technology and Innovation",
        name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
        acronym="MISTI",
    )
    programme = Programme.objects.create(
        name="PCP Cambodia", country="Cambodia", start_year=2018, end_year=2023
    )
    project = Project.objects.create(programme=programme, title="Capacity building")
    course = Course.objects.create(project=project, number=3, title="Standards and Quality Infrastructure")
    from django.utils import timezone

    session = Session.objects.create(
        course=course, title="Metrology in practice", starts_at=timezone.now(), venue="MISTI, Phnom Penh"
    )
    for n in range(23):
        official = official_create(
            family_name=f"Chan{n:02d}",
            given_name="Sreymom",
            name_km=f"ចាន់ ស្រីមុំ {n}",
            ministry=misti,
            position="Deputy Director",
            email=f"official{n}@misti.gov.kh",
        )
        enrollment = enrollment_create(official=official, course=course)
        if n % 3 == 0:
            attendance_record(enrollment=enrollment, session=session, status="late", recorded_by=staff)
    client = Client()
    client.force_login(staff)
    from django.conf import settings

    return session.pk, client.cookies[settings.SESSION_COOKIE_NAME].value


def visit(page, url: str) -> dict:
    page.goto(url, wait_until="load")
    page.wait_for_function("() => document.documentElement.dataset.register === 'ready'")
    return page.evaluate(
        """() => {
          const nav = performance.getEntriesByType("navigation")[0];
          const ready = performance.getEntriesByName("register-ready")[0];
          const radio = document.querySelector("tr.register-row input[type=radio]");
          return { usable: ready.startTime, load: nav.loadEventEnd, html: nav.encodedBodySize,
                   wire: nav.transferSize, decoded: nav.decodedBodySize,
                   enabled: !!radio && !radio.disabled };
        }"""
    )


def measure(browser, url: str, cookie: str, language: str) -> tuple[dict, dict]:
    """One cold visit (empty cache) and one warm visit, on a throttled phone."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent=PHONE_UA,
        locale=language,
    )
    base = f"http://127.0.0.1:{PORT}"
    context.add_cookies(
        [
            {"name": "sessionid", "value": cookie, "url": base},
            {"name": "django_language", "value": language, "url": base},
        ]
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    cold = visit(page, url)
    warm = visit(page, url)
    context.close()
    assert cold["enabled"] and warm["enabled"]
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    session_pk, cookie = build_portal()
    print(
        f"{time.strftime('%a %d %b %Y %H:%M:%S %Z')}; {os.cpu_count()} cores; load average {os.getloadavg()}"
    )
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    kbits = NETWORK["downloadThroughput"] * 8 / 1000
    print(
        f"{version}; {kbits:.0f} kbit/s, {NETWORK['latency']} ms RTT, CPU x{CPU_SLOWDOWN}; {args.runs} rounds"
    )
    path = f"/sessions/{session_pk}/"
    # As many sync workers as the compose file's web service: a page and its three static files come
    # at once, and with fewer workers than requests the last one waits for a free worker.
    with server.gunicorn("benchmarks.register_phone", port=PORT, workers=3), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        for language in ("en", "km"):
            results = {"portal": [], "baseline": []}
            for _round in range(args.runs):
                for name, query in (("baseline", "?plain=1"), ("portal", "")):
                    results[name].append(
                        measure(browser, f"http://127.0.0.1:{PORT}{path}{query}", cookie, language)
                    )
            print(f"\nregister of 23, {language}:")
            print(f"  {'':26s} {'baseline (no gzip)':>20s} {'portal':>12s} {'ratio':>7s}")
            for visit_name, index in (("cold", 0), ("warm", 1)):
                for key, unit, label in (
                    ("usable", "ms", "usable"),
                    ("load", "ms", "load event"),
                    ("html", "B", "HTML body over the wire"),
                    ("wire", "B", "HTML with headers"),
                ):
                    base = statistics.median(r[index][key] for r in results["baseline"])
                    mine = statistics.median(r[index][key] for r in results["portal"])
                    figures = f"{base:>17,.0f} {unit:2s} {mine:>9,.0f} {unit:2s} {mine / base:7.2f}"
                    print(f"  {visit_name:4s} {label:21s} {figures}")
            decoded = statistics.median(r[0]["decoded"] for r in results["portal"])
            print(f"  HTML decoded: {decoded:,.0f} B")
        browser.close()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
