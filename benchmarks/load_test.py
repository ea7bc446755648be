"""Load test: 50 concurrent users for 60 s against gunicorn on PostgreSQL, loopback only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_h8 .venv/bin/python benchmarks/load_test.py \
        [--users 50] [--seconds 60] [--append-results]

It creates its own database (<name>_load, dropped at the end), migrates it, seeds one course
with two sessions and 400 enrolled officials, starts gunicorn (production settings, 3 workers)
and then, from a SECOND process, runs the users: 50% save one register row (the row endpoint
the register page's script posts to), 30% open a report page, 20% read the API (a partner
key). Each user owns its own officials, so the last status it saved for each row is known; at
the end every saved row must be in the database with that status (no lost attendance row).
It prints throughput and p95 latency per kind, and with --append-results adds them to
benchmarks/RESULTS.md. Everything is bounded: timeouts on every request, the run and the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Load-Test-Passw0rd"  # noqa: S105 - a throw-away account in a throw-away database
OFFICIALS = 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SEED = """
import datetime, json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from courses.models import Course, Programme, Project
from pcp_portal.models import APIAccessKey
from courses.services import session_create
from ministries.models import Ministry
from participants.services import enrollment_create, official_create

User = get_user_model()
staff = User.objects.create_user("load.staff", password="%(password)s")
staff.groups.add(Group.objects.get(name="mih_staff"))
officer = User.objects.create_user("load.officer", password="%(password)s")
officer.groups.add(Group.objects.get(name="unido_officer"))
_key, partner_key = APIAccessKey.objects.create_key(name="load partner", role="partner")
programme = Programme.objects.create(name="PCP load", country="Cambodia", start_year=2018, end_year=2023)
project = Project.objects.create(programme=programme, title="Load project")
start = timezone.now() - datetime.timedelta(days=1)
course = Course.objects.create(project=project, number=1, title="Load course", venue="Phnom Penh",
                               start_date=start.date(), end_date=start.date())
hours = datetime.timedelta(hours=1)
sessions = [session_create(course=course, title=f"Session {n}", starts_at=start + 4 * n * hours,
                           ends_at=start + (4 * n + 3) * hours, venue="MISTI") for n in range(2)]
ministry = Ministry.objects.create(code="loadmin", name_en="Ministry of Load", acronym="MOL")
enrollments = []
for n in range(%(officials)d):
    official = official_create(family_name=f"Load{n}", given_name="Test", ministry=ministry,
                               email=f"load{n}@example.gov.kh")
    enrollments.append(enrollment_create(official=official, course=course, enrolled_on=start.date()).pk)
print("SEED" + json.dumps({"course": course.pk, "sessions": [s.pk for s in sessions],
                           "enrollments": enrollments, "partner_key": partner_key}))
"""


class User:
    def __init__(self, port: int, index: int, seed: dict, deadline: float, results: list):
        self.port, self.index, self.seed, self.deadline, self.results = port, index, seed, deadline, results
        self.cookies: dict[str, str] = {}
        self.saved: dict[tuple[int, int], tuple[str, int]] = {}
        mine = seed["enrollments"][index::50]
        self.rows = [(session, enrollment) for session in seed["sessions"] for enrollment in mine]
        self.random = random.Random(index)

    def request(self, method, path, body=None, headers=None, kind="other"):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode()
            status = response.status
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _sep, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
        except OSError as error:
            status, text = 599, str(error)
        finally:
            connection.close()
        self.results.append((kind, time.perf_counter() - start, status))
        return status, text

    def log_in(self, username: str) -> None:
        _status, page = self.request("GET", "/accounts/login/", kind="login")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
        status, _text = self.request(
            "POST", "/accounts/login/", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"}, kind="login",
        )  # fmt: skip
        if status != 302:
            raise RuntimeError(f"log-in failed for {username}: {status}")

    def save_row(self) -> None:
        session, enrollment = self.random.choice(self.rows)
        status = self.random.choice(["present", "late", "excused", "absent"])
        _previous, version = self.saved.get((session, enrollment), ("", 0))
        body = urlencode({"status": status, "note": "", "version": version})
        code, text = self.request(
            "POST", f"/sessions/{session}/register/{enrollment}/", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-CSRFToken": self.cookies["csrftoken"], "Referer": "http://127.0.0.1/"},
            kind="register save",
        )  # fmt: skip
        if code == 200:
            row = json.loads(text)["row"]
            self.saved[(session, enrollment)] = (row["status"], row["version"])

    def run(self) -> None:
        self.log_in("load.staff")
        course = self.seed["course"]
        reports = ["/reports/", f"/reports/courses/{course}/", "/reports/sessions/", "/dashboard/"]
        api = [
            "/api/v1/attendance/",
            f"/api/v1/sessions/{self.seed['sessions'][0]}/register/",
            "/api/v1/officials/",
        ]
        auth = {"Authorization": f"Bearer {self.seed['partner_key']}"}
        while time.monotonic() < self.deadline:
            pick = self.random.random()
            if pick < 0.5:
                self.save_row()
            elif pick < 0.8:
                self.request("GET", self.random.choice(reports), kind="report view")
            else:
                saved = self.cookies
                self.cookies = {}
                self.request("GET", self.random.choice(api), headers=auth, kind="API read")
                self.cookies = saved


def client_process(port: int, seed: dict, users: int, seconds: int, queue) -> None:
    """The second process: `users` threads, each a user, for `seconds`."""
    deadline = time.monotonic() + seconds
    results: list = []
    people = [User(port, n, seed, deadline, results) for n in range(users)]
    threads = [threading.Thread(target=person.run, daemon=True) for person in people]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    saved = {f"{s}:{e}": status for person in people for (s, e), (status, _v) in person.saved.items()}
    queue.put({"results": results, "elapsed": elapsed, "saved": saved})


def p95(values):
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values, default=0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--append-results", action="store_true")
    args = parser.parse_args()

    base = urlparse(os.environ.get("DATABASE_URL", ""))
    if base.scheme not in ("postgres", "postgresql"):
        sys.exit("Set DATABASE_URL=postgres://...: the load test runs on PostgreSQL.")
    database = f"{base.path.lstrip('/')}_load"
    admin = base._replace(path="/postgres").geturl()
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{database}"'], check=True, timeout=60)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{database}"'], check=True, timeout=60)
    var = Path(tempfile.mkdtemp(prefix="pcp-load-"))
    env = {
        **os.environ,
        "DATABASE_URL": base._replace(path=f"/{database}").geturl(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "PCP_MANIFEST_STATIC": "0",
        "PCP_VAR_DIR": str(var),
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    port = free_port()
    server = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
        )
        seeded = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             SEED % {"password": PASSWORD, "officials": OFFICIALS}],
            cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True,
        )  # fmt: skip
        seed = json.loads(seeded.stdout.split("SEED", 1)[1])
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "pcp_portal.wsgi:application", f"--bind=127.0.0.1:{port}",
             f"--workers={args.workers}", "--timeout=60", "--log-level=warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        for _ in range(120):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        queue = multiprocessing.get_context("spawn").Queue()
        client = multiprocessing.get_context("spawn").Process(
            target=client_process, args=(port, seed, args.users, args.seconds, queue)
        )
        client.start()
        outcome = queue.get(timeout=args.seconds + 180)
        client.join(timeout=30)

        check = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "import json; from participants.models import Attendance; print('ROWS' + json.dumps("
             "{f'{a.session_id}:{a.enrollment_id}': a.status for a in Attendance.objects.all()}))"],
            cwd=ROOT, env=env, check=True, timeout=120, capture_output=True, text=True,
        )  # fmt: skip
        rows = json.loads(check.stdout.split("ROWS", 1)[1])
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(
            ["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], timeout=60
        )

    results = [r for r in outcome["results"] if r[0] != "login"]
    errors = [r for r in outcome["results"] if r[2] >= 400]
    lost = {key: status for key, status in outcome["saved"].items() if rows.get(key) != status}
    elapsed = outcome["elapsed"]
    lines = [
        f"{args.users} users, {elapsed:.0f} s, gunicorn {args.workers} workers on PostgreSQL, loopback, "
        "client in a second process",
        "",
        "| kind | requests | per second | p50 ms | p95 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in ("register save", "report view", "API read"):
        times = [t for k, t, _s in results if k == kind]
        kind_errors = sum(1 for k, _t, s in results if k == kind and s >= 400)
        lines.append(
            f"| {kind} | {len(times)} | {len(times) / elapsed:.1f} | {statistics.median(times) * 1000:.0f} | "
            f"{p95(times) * 1000:.0f} | {kind_errors} |"
        )
    all_times = [t for _k, t, _s in results]
    lines.append(
        f"| all | {len(all_times)} | {len(all_times) / elapsed:.1f} | "
        f"{statistics.median(all_times) * 1000:.0f} | {p95(all_times) * 1000:.0f} | {len(errors)} |"
    )
    lines += [
        "",
        f"Attendance rows saved: {len(outcome['saved'])}; lost or wrong in the database: {len(lost)}.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.append_results:
        with (ROOT / "benchmarks" / "RESULTS.md").open("a") as handle:
            handle.write(
                f"\n## Load test\n\n`benchmarks/load_test.py` ({time.strftime('%Y-%m-%d')}): {report}\n"
            )
    return 1 if errors or lost else 0


if __name__ == "__main__":
    sys.exit(main())
