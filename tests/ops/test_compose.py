"""docker-compose.yml: its shape (services, health checks, volumes, non-root, no secret), and
the very commands its services run, started as processes on loopback against the real
PostgreSQL and Redis with the compose file's environment: migrate, gunicorn, celery worker and
beat; then /readyz, a log-in, and a reminder e-mail end to end."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKERS = ("worker-reminders", "worker-files", "worker-default")
APP_SERVICES = ("migrate", "web", *WORKERS, "beat")
SECRET_NAMES = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)


def test_compose_has_the_services_with_health_checks_and_volumes():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", *WORKERS, "beat"}
    for name in ("db", "redis", "web", *WORKERS, "beat"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert SERVICES["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert SERVICES["redis"]["volumes"] == ["redisdata:/data"]
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata", "exports"}
    # Exports written by the files worker are downloaded from web: the same folder in both.
    assert SERVICES["web"]["volumes"] == SERVICES["worker-files"]["volumes"] == ["exports:/app/var/exports"]
    web = SERVICES["web"]["command"]
    assert web[0] == "gunicorn" and int(next(a for a in web if a.startswith("--workers=")).split("=")[1]) >= 2


def test_only_the_one_shot_migrate_service_migrates_and_the_others_wait_for_it():
    assert "migrate" in " ".join(SERVICES["migrate"]["command"])
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", *WORKERS, "beat"):
        assert "migrate" not in " ".join(SERVICES[name]["command"])
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_app_services_run_as_a_non_root_user_without_new_privileges():
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["user"] not in ("0", "root") and not service["user"].startswith("0:")
        assert "no-new-privileges:true" in service["security_opt"]
        assert "USER pcp" in service["build"]["dockerfile_inline"]


def test_the_compose_file_holds_no_secret_and_the_env_file_is_not_committed():
    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, path)
        else:
            yield path, str(node)

    for path, value in walk(COMPOSE):
        key = path.rsplit(".", 1)[-1]
        if SECRET_NAMES.search(key):
            assert re.fullmatch(r"\$\{[A-Z_]+(:?\?[^}]*)?\}", value), f"{path} holds a literal secret"
        if "://" in value and "@" in value:
            assert "${" in value, f"{path} has credentials in a URL"
    for name in APP_SERVICES:
        assert SERVICES[name]["env_file"] == ".env"
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    tracked = subprocess.run(
        ["git", "ls-files", ".env"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.strip() == ""
    example = (ROOT / ".env.example").read_text()
    assert "SECRET_KEY=change-me" in example and "POSTGRES_PASSWORD=change-me" in example


# --- the services' commands as processes ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env_file() -> dict:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _substitute(value: str, env: dict) -> str:
    return re.sub(r"\$\{([A-Z_]+)(?::?\?[^}]*)?\}", lambda m: env[m.group(1)], str(value))


def compose_environment(tmp_path, *, database_url, broker_url, smtp_port) -> dict:
    """env_file, then the service's environment (as compose merges them), then the loopback
    addresses of this machine's services in place of compose's service names."""
    env_file = _env_file()
    env_file.update(SECRET_KEY=secrets.token_urlsafe(50), POSTGRES_PASSWORD="unused-on-loopback")
    service_env = {k: _substitute(v, env_file) for k, v in SERVICES["web"]["environment"].items()}
    assert service_env["DATABASE_URL"].startswith("postgres://pcp:unused-on-loopback@db:5432/")
    env = {"PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    env.update(env_file)
    env.update(service_env)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        CACHE_URL=broker_url,
        PCP_VAR_DIR=str(tmp_path / "var"),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        REMINDER_DISPATCH_INTERVAL_SECONDS="10",
    )
    return env


def _command(service: str, port: int, tmp_path) -> list[str]:
    command = SERVICES[service]["command"]
    command = shlex.split(command) if isinstance(command, str) else list(command)
    replaced = []
    for arg in command:
        arg = arg.replace("0.0.0.0:8000", f"127.0.0.1:{port}")
        arg = arg.replace("/app/var/", f"{tmp_path}/var/")
        replaced.append(arg)
    return replaced


class Site:
    def __init__(self, port, host):
        self.port, self.host, self.cookies = port, host, {}

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        all_headers = {"Host": self.host, "X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _sep, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response, text


@pytest.mark.slow
@pytest.mark.django_db
def test_the_services_commands_start_serve_a_log_in_and_send_a_reminder(postgres, redis_url, tmp_path):
    from aiosmtpd.controller import Controller

    parsed = urlparse(os.environ["DATABASE_URL"])
    database = f"{parsed.path.lstrip('/') or 'pcp'}_compose"
    database_url = parsed._replace(path=f"/{database}").geturl()
    admin_url = parsed._replace(path="/postgres").geturl()
    psql = ["psql", admin_url, "-q", "-c"]
    subprocess.run(
        [*psql, f'DROP DATABASE IF EXISTS "{database}"'], check=True, timeout=30, capture_output=True
    )
    subprocess.run([*psql, f'CREATE DATABASE "{database}"'], check=True, timeout=30, capture_output=True)

    class Inbox:
        messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    port = _free_port()
    env = compose_environment(tmp_path, database_url=database_url, broker_url=redis_url, smtp_port=smtp.port)
    processes = []
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        # The image build's collectstatic, then the one-shot migrate service.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT, env=env, check=True, timeout=120,
        )  # fmt: skip
        migrate = subprocess.run(
            _command("migrate", port, tmp_path),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        for service in ("web", *WORKERS, "beat"):
            out = (logs / f"{service}.log").open("w")
            processes.append(
                subprocess.Popen(
                    _command(service, port, tmp_path), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
        site = Site(port, env["ALLOWED_HOSTS"].split(",")[0])
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready, body = site.request("GET", "/readyz", headers={"Host": "127.0.0.1"})
                if ready.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status == 200, (logs / "web.log").read_text()[-3000:]
        assert '"broker": "ok"' in body and '"database": "ok"' in body

        # Data the way an operator makes it: the first superuser, a course with one session due.
        setup = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP_DATA], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert setup.returncode == 0, setup.stderr[-2000:]

        origin = f"https://{site.host}"
        response, page = site.request("GET", "/accounts/login/")
        assert response.status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = f"csrfmiddlewaretoken={token}&username=ops.root&password=Compose-Test-Passw0rd"
        response, _page = site.request(
            "POST", "/accounts/login/", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Referer": f"{origin}/accounts/login/", "Origin": origin},
        )  # fmt: skip
        assert response.status == 302, _page[-1000:]
        assert "sessionid" in site.cookies
        response, page = site.request("GET", "/dashboard/")
        assert response.status == 200 and ("ops.root" in page or "Ops" in page)

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not inbox.messages:
            time.sleep(1)
        assert inbox.messages, "no reminder arrived;\n" + "\n".join(
            (logs / f"{s}.log").read_text()[-1500:] for s in (*WORKERS, "beat")
        )
        assert inbox.messages[0].rcpt_tos == ["compose.official@example.gov.kh"]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        smtp.stop()
        subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], timeout=30, check=False)


SETUP_DATA = """
import datetime
from django.contrib.auth import get_user_model
from django.utils import timezone
from courses.models import Course, Project, Programme
from courses.services import session_create
from ministries.models import Ministry
from participants.services import official_create, enrollment_create

get_user_model().objects.create_superuser(
    "ops.root", "ops@example.org", "Compose-Test-Passw0rd", first_name="Ops"
)
programme = Programme.objects.first() or Programme.objects.create(name="PCP", country="Cambodia")
project = (
    Project.objects.filter(programme=programme).first()
    or Project.objects.create(programme=programme, title="P")
)
start = timezone.now() + datetime.timedelta(minutes=90)
course = Course.objects.create(project=project, number=99, title="Compose course", venue="Phnom Penh",
                               start_date=start.date(), end_date=start.date())
session_create(course=course, title="Opening", starts_at=start, ends_at=start + datetime.timedelta(hours=2),
               venue="MISTI")
official = official_create(family_name="Compose", given_name="Test", ministry=Ministry.objects.first(),
                           email="compose.official@example.gov.kh", preferred_language="en")
enrollment_create(official=official, course=course, enrolled_on=timezone.localdate())
"""
