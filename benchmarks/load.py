"""Load: the 5:3:2 mix (staff register saves : officer report pages : partner API reads) at 10, 50
and 100 concurrent users on the 100k data set, against gunicorn run as docker-compose.yml runs it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_h8 REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/python -m benchmarks.load [--users 10,50,100] [--seconds 60] [--size 100k] [--no-record]

It creates its own database (<name>_load, dropped at the end), builds the data set there
(benchmarks/dataset.py, with its history rows), adds a staff account, an officer account and a
partner's read-only API key, and starts gunicorn with the web service's command from
docker-compose.yml (its workers and timeouts; only the address changes) with DEBUG off and the
cache and broker on REDIS_URL (the Redis database is flushed at the end). Then, for each number of
users, locust runs headless (benchmarks/locustfile.py) for --seconds, and the script records
requests per second and p50/p95/p99 per kind, counts server errors, and checks the register: every
row a user saved holds in the database the status and version the server last confirmed, with
exactly one history row per change (none lost, none written twice). It prints a table and writes
it to benchmarks/RESULTS.md (section "Load"). Exit status 1 when a server error or a register
mismatch was seen.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import http.client
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

# The repository's root on the path, so that `python benchmarks/load.py` finds the apps too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import yaml
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

# Django is set up in the parent too, but only the children (DATABASE_URL pointing to the load
# database) ever connect.
from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.dataset import BENCH_MARKER, SIZES, build
from benchmarks.results_file import machine, write_section
from participants.models import Attendance
from pcp_portal.models import APIAccessKey

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Load: the 5:3:2 mix at 10, 50 and 100 users"
PASSWORD = "Load-Bench-Passw0rd"  # noqa: S105 - throw-away accounts in a throw-away database
KINDS = ("register save", "officer report", "partner API")


def _seed(size: str, users_at_most: str, out: str) -> None:
    """In a child on the load database: the data set, the accounts, the key, the rows to write, and a
    signed-in session per user and account (signing in is not part of the mix, and hashing a password
    a hundred times at the start would only measure the hasher)."""
    counts = build(**SIZES[size], verbose=False)
    users = get_user_model().objects
    group = apps.get_model("auth", "Group").objects
    staff = users.create_user("load.staff", password=PASSWORD)
    staff.groups.add(group.get(name="mih_staff"))
    officer = users.create_user("load.officer", password=PASSWORD)
    officer.groups.add(group.get(name="unido_officer"))
    _key, partner_key = APIAccessKey.objects.create_key(name="load partner", role="partner")
    sessions = {}
    for account in (staff, officer):
        sessions[account.username] = []
        for _n in range(int(users_at_most)):
            client = Client()
            client.force_login(account)
            sessions[account.username].append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    # The register rows the users write: every row of the first course (200 officials × 10 sessions).
    rows = list(
        Attendance.objects.filter(session__course__reference_key=f"{BENCH_MARKER}course:1")
        .order_by("session_id", "enrollment_id")
        .values_list("session_id", "enrollment_id", "status", "version")
    )
    # The officers' course report: another course than the one being written (the last one).
    course_id = (
        apps.get_model("courses", "Course")
        .objects.filter(reference_key__startswith=BENCH_MARKER)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    seed = {
        "counts": counts,
        "staff": staff.username,
        "officer": officer.username,
        "sessions": sessions,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "partner_key": partner_key,
        "rows": [[session, enrollment] for session, enrollment, _status, _version in rows],
        # What an officer opens: the programme, per-ministry and sessions reports, a course's report,
        # the dashboard and the course list.
        "pages": [
            "/reports/",
            "/reports/ministries/",
            "/reports/sessions/",
            f"/reports/courses/{course_id}/",
            "/dashboard/",
            "/courses/",
        ],
        # What a partner's system reads: attendance pages, the summary, the sessions.
        "api": [
            "/api/v1/attendance/?page_size=100",
            "/api/v1/reports/attendance-summary/",
            "/api/v1/sessions/",
        ],
    }
    state = {f"{session}:{enrollment}": [status, version] for session, enrollment, status, version in rows}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"seed": seed, "state": state}, handle)


def _check(state_file: str) -> dict:
    """In a child: each row the users wrote against the database. A row must hold the status and
    version the server last confirmed, or, when a save was still in flight as the run stopped, the
    result of that save; its history must hold exactly one row per version (one "+", then one "~" a
    change); and there must be one row per official and session. Returns the mismatches and the
    state the next level starts from."""
    with open(state_file, encoding="utf-8") as handle:
        state = json.load(handle)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.session_id, a.enrollment_id, a.status, a.version,
                   (SELECT count(*) FROM participants_historicalattendance h WHERE h.id = a.id),
                   (SELECT count(*) FROM participants_attendance d
                    WHERE d.session_id = a.session_id AND d.enrollment_id = a.enrollment_id)
            FROM participants_attendance a
            WHERE (a.session_id, a.enrollment_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))
            """,
            [[int(key.split(":")[0]) for key in state], [int(key.split(":")[1]) for key in state]],
        )
        found = {
            f"{s}:{e}": (status, version, history, copies)
            for s, e, status, version, history, copies in cursor
        }
    result = {
        "rows": len(state),
        "missing": [],
        "wrong": [],
        "unconfirmed": [],
        "history": [],
        "duplicated": [],
    }
    resolved = {}
    for key, entry in state.items():
        if key not in found:
            result["missing"].append(key)
            continue
        status, version, history, copies = found[key]
        confirmed = (entry[0], entry[1])
        in_flight = (entry[2], entry[1] + 1) if len(entry) > 2 and entry[2] != entry[0] else None
        if (status, version) == confirmed:
            pass
        elif (status, version) == in_flight:
            result["unconfirmed"].append(key)
        else:
            result["wrong"].append(key)
        if history != version:
            result["history"].append(key)
        if copies != 1:
            result["duplicated"].append(key)
        resolved[key] = [status, version]
    result["state"] = resolved
    return result


def _check_level(state_file: Path, env: dict) -> dict:
    return json.loads(_child(["--check", str(state_file)], env, timeout=300).rsplit("CHECK", 1)[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _compose_web_command(port: int) -> list[str]:
    """The web service's command in docker-compose.yml, bound to loopback on `port`."""
    with (ROOT / "docker-compose.yml").open(encoding="utf-8") as handle:
        command = yaml.safe_load(handle)["services"]["web"]["command"]
    if isinstance(command, str):
        command = shlex.split(command)
    binary = str(ROOT / ".venv/bin/gunicorn") if command[0] == "gunicorn" else command[0]
    rest = [part for part in command[1:] if not part.startswith("--bind")]
    return [binary, *rest, f"--bind=127.0.0.1:{port}", "--log-level=warning"]


def _wait_until_up(port: int, server: subprocess.Popen, log: Path) -> None:
    """Until /healthz answers 200 (at most a minute), or stop with the server's log."""
    for _ in range(120):
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if probe.getresponse().status == 200:
                return
        except OSError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.5)
    sys.stderr.write(log.read_text()[-5000:])
    raise SystemExit("gunicorn did not answer /healthz")


def _child(mode: list[str], env: dict, timeout: int) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", *mode],
        cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"benchmarks.load {' '.join(mode)} failed")
    return done.stdout


def _level(users: int, seconds: int, port: int, env: dict, work: Path, state_file: Path) -> dict:
    """One locust run; its figures per kind, its server errors and the register state after it."""
    out = work / f"out-{users}.json"
    prefix = work / f"locust-{users}"
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "benchmarks/locustfile.py"), "--headless",
            "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "30",
            "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
            "--loglevel", "WARNING",
        ],
        cwd=ROOT, timeout=seconds + 180, check=False, capture_output=True, text=True,
        env={**env, "LOAD_SEED": str(work / "seed.json"), "LOAD_STATE": str(state_file),
             "LOAD_OUT": str(out), "LOAD_USERS": str(users)},
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        stats = {row["Name"]: row for row in csv.DictReader(handle)}
    with out.open(encoding="utf-8") as handle:
        after = json.load(handle)
    kinds = {}
    for name in (*KINDS, "Aggregated"):
        row = stats.get(name)
        if row is None:
            continue
        kinds[name] = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            **{p: float(row[f"{p}%"] if row[f"{p}%"] != "N/A" else 0) for p in ("50", "95", "99")},
        }
    mix = {
        "requests": sum(kinds[k]["requests"] for k in KINDS if k in kinds),
        "failures": sum(kinds[k]["failures"] for k in KINDS if k in kinds),
        "rps": sum(kinds[k]["rps"] for k in KINDS if k in kinds),
    }
    if not mix["requests"]:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"locust made no request at {users} users")
    return {
        "users": users,
        "kinds": kinds,
        "mix": mix,
        "server_errors": after["server_errors"],
        "state": after["state"],
    }


def run(user_levels: list[int], seconds: int, size: str) -> tuple[list[dict], dict, dict]:
    base = urlparse(os.environ.get("DATABASE_URL", ""))
    if base.scheme not in ("postgres", "postgresql"):
        sys.exit("Set DATABASE_URL=postgres://...: the load benchmark runs on PostgreSQL.")
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL")
    if not redis_url:
        sys.exit("Set REDIS_URL=redis://...: the compose web service caches and queues on Redis.")
    admin_url = base._replace(path="/postgres").geturl()
    database = f"{base.path.lstrip('/')}_load"
    work = Path(tempfile.mkdtemp(prefix="pcp-load-"))
    env = {
        **os.environ,
        "DATABASE_URL": base._replace(path=f"/{database}").geturl(),
        "CACHE_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "0",
        "PCP_MANIFEST_STATIC": "0",  # no collectstatic for a throw-away run; no page changes
        "PCP_VAR_DIR": str(work / "var"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # Production refuses to start without a mail server and the portal's address; no mail goes out.
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PORTAL_BASE_URL": "http://127.0.0.1",
        # A partner key's throttle would answer 429 long before the portal is busy: not a figure.
        "API_THROTTLE_RATE": "100000000/minute",
    }
    for sql in (f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'):
        subprocess.run(["psql", admin_url, "-qc", sql], check=True, timeout=120, capture_output=True)
    server = None
    levels: list[dict] = []
    try:
        print(f"load: building the {size} data set in {database} …", file=sys.stderr, flush=True)
        _child(["--seed", size, str(max(user_levels)), str(work / "seeded.json")], env, timeout=1200)
        with (work / "seeded.json").open(encoding="utf-8") as handle:
            seeded = json.load(handle)
        (work / "seed.json").write_text(json.dumps(seeded["seed"]), encoding="utf-8")
        state_file = work / "state-0.json"
        state_file.write_text(json.dumps(seeded["state"]), encoding="utf-8")
        port = _free_port()
        command = _compose_web_command(port)
        (work / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
        server_log = (work / "gunicorn.log").open("w")
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT)
        _wait_until_up(port, server, work / "gunicorn.log")
        # A short run first, not recorded: every worker imports and connects before the first level.
        print("load: warming up (3 users, 10 s) …", file=sys.stderr, flush=True)
        warm = _level(3, 10, port, env, work, state_file)
        state_file = work / "state-warm.json"
        state_file.write_text(json.dumps(warm.pop("state")), encoding="utf-8")
        state_file.write_text(json.dumps(_check_level(state_file, env)["state"]), encoding="utf-8")
        for users in user_levels:
            print(f"load: {users} users for {seconds} s …", file=sys.stderr, flush=True)
            level = _level(users, seconds, port, env, work, state_file)
            state_file = work / f"state-{users}.json"
            state_file.write_text(json.dumps(level.pop("state")), encoding="utf-8")
            level["check"] = _check_level(state_file, env)
            state_file.write_text(json.dumps(level["check"].pop("state")), encoding="utf-8")
            levels.append(level)
        final = json.loads(state_file.read_text())
        check = {
            "rows": len(final),
            "changed": sum(1 for key, value in final.items() if value != seeded["state"][key]),
            **{
                name: sum(len(level["check"][name]) for level in levels)
                for name in ("missing", "wrong", "unconfirmed", "history", "duplicated")
            },
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        subprocess.run(
            ["psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], timeout=120
        )
        subprocess.run(["redis-cli", "-u", redis_url, "FLUSHDB"], timeout=30, capture_output=True)
    return levels, check, {"command": " ".join(command[1:]), "counts": seeded["seed"]["counts"]}


def report(
    levels: list[dict], check: dict, setup: dict, seconds: int, started: datetime.datetime, load: str
) -> str:
    lines = [
        HEADING,
        "",
        f"`python -m benchmarks.load`, run {started:%Y-%m-%d %H:%M} UTC on {machine()} ({load}). "
        f"Data set: {setup['counts']['attendance']:,} attendance rows with their history. gunicorn as "
        f"docker-compose.yml's web service: `gunicorn {setup['command']}`; DEBUG off, Redis cache and "
        f"broker (no worker: the queued tasks are dropped at the end), PostgreSQL on the same host. "
        f"locust headless, {seconds} s per level, all users started in the first second, no think "
        "time; the clients ran on the same cores as the server.",
        "",
        "| users | kind | requests | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for level in levels:
        for kind in (*KINDS, "Aggregated"):
            figures = level["kinds"].get(kind)
            if figures is None:
                continue
            label = "all" if kind == "Aggregated" else kind
            lines.append(
                f"| {level['users']} | {label} | {figures['requests']:,} | {figures['rps']:.1f} | "
                f"{figures['50']:,.0f} | {figures['95']:,.0f} | {figures['99']:,.0f} | "
                f"{figures['failures']} |"
            )
    lines.append("")
    for level in levels:
        errors = level["server_errors"]
        lines.append(
            f"- {level['users']} users: {level['mix']['rps']:.1f} req/s over the mix, "
            f"{len(errors)} server errors{(': ' + '; '.join(sorted(set(errors))[:5])) if errors else ''}."
        )
    lines.append(
        f"- Register check after each level: {check['changed']:,} of the {check['rows']:,} rows changed in "
        f"all; {check['missing'] + check['wrong']} lost or not as last confirmed, {check['duplicated']} "
        f"duplicated, {check['history']} with a history that is not one row per change; "
        f"{check['unconfirmed']} saves whose answer was cut off when a level stopped, found in the database."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", default="10,50,100", help="the levels (default 10,50,100)")
    parser.add_argument("--seconds", type=int, default=60, help="per level (default 60)")
    parser.add_argument("--size", default="100k", choices=SIZES, help="the data set (default 100k)")
    parser.add_argument("--no-record", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--seed", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--check", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.seed:
        _seed(*arguments.seed)
        return 0
    if arguments.check:
        print("CHECK" + json.dumps(_check(arguments.check)))
        return 0

    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()[0]
    levels, check, setup = run(
        [int(n) for n in arguments.users.split(",")], arguments.seconds, arguments.size
    )
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    text = report(levels, check, setup, arguments.seconds, started, load)
    print(text)
    if not arguments.no_record:
        write_section(HEADING, text)
    bad = check["missing"] or check["wrong"] or check["duplicated"] or check["history"]
    failed = any(level["server_errors"] or level["mix"]["failures"] for level in levels)
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
