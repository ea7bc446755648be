"""The portal when a service fails, tested against real services the test stops and starts.

A private PostgreSQL cluster and a private Redis (never the shared ones), and the portal as
gunicorn processes pointed at them, as docker-compose.yml runs it:

- the database stopped: pages and the API answer 503 with Retry-After in under a second (the page
  in the visitor's language, the API in its JSON error format), /readyz 503 within 2 s; started
  again: the next request succeeds, no restart;
- Redis stopped: the partner API and /verify/ answer 200 (the rate limits fail open, logged);
  Redis frozen with SIGSTOP: no request waits more than 2 s;
- the /verify/ limit is one budget for every process (the database cache), not one per process.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.ops.services import Portal, PrivatePostgres, PrivateRedis, manage, portal_environment

pytestmark = [pytest.mark.slow]

PASSWORD = "Private-Services-Passw0rd"

SETUP = f"""
import datetime
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from courses.models import Course, Programme, Project
from courses.services import session_create
from ministries.models import Ministry
from participants.certificates import certificates_issue_for_course
from participants.services import attendance_record, enrollment_create, official_create

user = get_user_model().objects.create_user("ops.staff", password="{PASSWORD}", first_name="Sophea")
user.groups.add(Group.objects.get_or_create(name="mih_staff")[0])
project = Project.objects.first()
start = timezone.now() - datetime.timedelta(days=3)
course = Course.objects.create(project=project, number=99, title="Outage course", venue="Phnom Penh",
                               start_date=start.date(), end_date=start.date())
session = session_create(course=course, title="Opening", starts_at=start,
                         ends_at=start + datetime.timedelta(hours=2), venue="MISTI")
official = official_create(family_name="Sok", given_name="Dara", ministry=Ministry.objects.first(),
                           email="sok.dara@example.gov.kh", preferred_language="en")
enrolment = enrollment_create(official=official, course=course, enrolled_on=start.date())
attendance_record(enrollment=enrolment, session=session, status="present")
(certificate,) = certificates_issue_for_course(course=course)
print("CERTIFICATE", certificate.code)
"""


class World:
    def __init__(self, postgres: PrivatePostgres, tmp_path) -> None:
        self.postgres = postgres
        self.tmp_path = tmp_path
        env = portal_environment(tmp_path, DATABASE_URL=postgres.url)
        manage(env, "migrate", "--noinput")
        manage(env, "createcachetable")
        manage(env, "load_public_record")
        self.certificate = re.search(r"CERTIFICATE (\S+)", manage(env, "shell", "-c", SETUP)).group(1)
        self.api_key = (
            manage(env, "create_api_key", "Outage test", "--role", "partner").strip().splitlines()[-1]
        )

    def portal(self, name: str, **overrides) -> Portal:
        env = portal_environment(self.tmp_path, DATABASE_URL=self.postgres.url, **overrides)
        return Portal(env, self.tmp_path / f"{name}.log")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    postgres = PrivatePostgres()
    try:
        yield World(postgres, tmp_path_factory.mktemp("outages"))
    finally:
        postgres.destroy()


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    yield redis
    redis.destroy()


def log_in(portal: Portal) -> str:
    """A staff session cookie, through the real log-in form."""
    page = portal.get("/accounts/login/")
    csrf = re.search(r"csrftoken=([^;]+)", page.header("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = portal.request(
        "POST",
        "/accounts/login/",
        body=f"csrfmiddlewaretoken={token}&username=ops.staff&password={PASSWORD}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
                 "Referer": "http://127.0.0.1/accounts/login/"},
    )  # fmt: skip
    assert answer.status == 302, answer
    session = re.search(r"sessionid=([^;]+)", answer.header("Set-Cookie")).group(1)
    return f"sessionid={session}"


def test_with_the_database_stopped_pages_and_api_answer_503_quickly_and_recover_without_restart(world):
    portal = world.portal("database-outage")
    try:
        cookie = log_in(portal)
        api = {"Authorization": f"Bearer {world.api_key}", "Accept": "application/json"}
        assert portal.get("/dashboard/", headers={"Cookie": cookie}).status == 200
        assert portal.get("/api/v1/courses/", headers=api).status == 200

        world.postgres.stop()
        try:
            page = portal.get("/dashboard/", headers={"Cookie": cookie})
            assert page.status == 503 and page.seconds < 1, page
            assert int(page.header("Retry-After")) > 0
            assert "The portal is briefly unavailable" in page.text
            assert page.text.index('lang="en"') < page.text.index('lang="km"')  # English first, Khmer too

            khmer = portal.get("/courses/", headers={"Cookie": f"{cookie}; django_language=km"})
            assert khmer.status == 503 and khmer.seconds < 1, khmer
            assert '<html lang="km">' in khmer.text
            assert khmer.text.index('lang="km"', 20) < khmer.text.index('lang="en"')
            by_header = portal.get("/dashboard/", headers={"Cookie": cookie, "Accept-Language": "km"})
            assert '<html lang="km">' in by_header.text

            answer = portal.get("/api/v1/courses/", headers=api)
            assert answer.status == 503 and answer.seconds < 1, answer
            assert int(answer.header("Retry-After")) > 0
            assert answer.header("Content-Type").startswith("application/json")
            assert "unavailable" in json.loads(answer.text)["detail"]

            ready = portal.get("/readyz")
            assert ready.status == 503 and ready.seconds < 2, ready
            assert json.loads(ready.text)["checks"]["database"] == "down"
        finally:
            world.postgres.start()

        assert portal.get("/dashboard/", headers={"Cookie": cookie}).status == 200
        assert portal.get("/api/v1/courses/", headers=api).status == 200
        assert portal.get("/readyz").status == 200
        log = portal.log.read_text()
        assert "_session_cache" not in log
        assert "Traceback" not in log
        assert "database unavailable: answered 503" in log
    finally:
        portal.stop()


def test_with_redis_stopped_or_frozen_the_api_and_verify_answer_without_waiting(world, private_redis):
    portal = world.portal(
        "redis-outage",
        CACHE_URL=private_redis.url,
        CELERY_BROKER_URL=private_redis.url,
        API_THROTTLE_RATE="5/minute",
    )
    api = {"Authorization": f"Bearer {world.api_key}", "Accept": "application/json"}
    verify = f"/verify/{world.certificate}/"
    try:
        # Redis up: the API budget is counted in it (5 a minute), so the sixth request is refused.
        codes = [portal.get("/api/v1/courses/", headers=api).status for _ in range(6)]
        assert codes == [200] * 5 + [429]
        assert portal.get(verify).status == 200

        private_redis.stop()
        for _ in range(8):
            answer = portal.get("/api/v1/courses/", headers=api)
            assert answer.status == 200 and answer.seconds < 1, answer  # the limit fails open
        page = portal.get(verify)
        assert page.status == 200 and "Dara" in page.text
        ready = portal.get("/readyz")
        assert ready.status == 503 and ready.seconds < 2
        assert json.loads(ready.text)["checks"] == {"database": "ok", "broker": "down"}

        private_redis.start()
        private_redis.freeze()
        try:
            slowest = 0.0
            for path, headers in [("/api/v1/courses/", api), (verify, {})] * 4 + [("/readyz", {})]:
                answer = portal.get(path, headers=headers, timeout=10)
                slowest = max(slowest, answer.seconds)
                assert answer.status in (200, 503), answer
            assert slowest < 2, f"a request waited {slowest:.2f}s for the frozen Redis"
        finally:
            private_redis.thaw()
    finally:
        portal.stop()
    warnings = portal.log.read_text().count("rate limit cache unreachable")
    assert 1 <= warnings <= 2  # at most once a minute in each of the two gunicorn workers


def test_the_verify_limit_is_one_budget_across_processes_in_the_database_cache(world):
    first = world.portal("verify-a", PCP_VERIFY_PER_MINUTE="20")
    second = world.portal("verify-b", PCP_VERIFY_PER_MINUTE="20")
    try:
        answers = []
        for index in range(30):
            portal = first if index % 2 == 0 else second
            answers.append(portal.get(f"/verify/{world.certificate}/"))
        allowed = [a for a in answers if a.status == 200]
        refused = [a for a in answers if a.status == 429]
        assert len(allowed) == 20 and len(refused) == 10
        assert all(answer.status == 200 for answer in answers[:20])
        assert all(1 <= int(answer.header("Retry-After")) <= 60 for answer in refused)
    finally:
        first.stop()
        second.stop()
