"""Queues by kind: reminders, imports, exports, webhooks and the rest each have their own queue, so
a hung SMTP server holds the reminder worker only, and for EMAIL_TIMEOUT seconds at a time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from participants import reminders
from participants.models import ReminderDelivery
from pcp_portal.celery import app
from tests.conftest import point_celery_at
from tests.ops.services import PrivateRedis, SilentSMTPServer
from tests.reminders.helpers import course_with_officials, session_in

ROOT = Path(__file__).resolve().parents[2]


def queue_of(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name)
    return route["queue"].name


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("participants.tasks.send_delivery", "reminders"),
        ("participants.tasks.dispatch_reminders", "reminders"),
        ("participants.tasks.notify_session_change", "reminders"),
        ("participants.imports.tasks.apply_import", "imports"),
        ("participants.reports.tasks.export_report", "exports"),
        ("courses.webhooks.deliver", "webhooks"),
        ("pcp_portal.tasks.relay_outbox", "default"),
        ("anything.else", "default"),
    ],
)
def test_each_kind_of_task_is_routed_to_its_own_queue(task_name, queue):
    assert queue_of(task_name) == queue


def _queues(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(","))


def test_compose_runs_one_worker_per_queue_group_and_make_run_one_worker_on_every_queue():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workers = {
        name: _queues(s["command"]) for name, s in services.items() if "worker" in s.get("command", [])
    }
    consumed = [queue for queues in workers.values() for queue in queues]
    assert sorted(consumed) == sorted(settings.CELERY_QUEUES_ALL)  # each queue has exactly one worker service
    assert workers["worker-reminders"] == {"reminders"}
    # A worker started without -Q (the tests', a developer's) consumes every queue.
    assert {queue.name for queue in app.conf.task_queues} == set(settings.CELERY_QUEUES_ALL)

    makefile = (ROOT / "Makefile").read_text()
    (line,) = [line for line in makefile.splitlines() if "celery -A pcp_portal worker" in line]
    assert _queues(line.split()) == set(settings.CELERY_QUEUES_ALL)
    migrate = " ".join(services["migrate"]["command"])
    assert re.search(r"check --deploy.*migrate --noinput.*createcachetable", migrate)
    assert re.search(r"migrate --noinput; \\\n\t\$\(BIN\)/python manage.py createcachetable", makefile)


class QueueWorker:
    def __init__(self, env: dict, queues: str, name: str, log: Path, *extra: str) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pcp_portal", "worker", "-Q", queues, "-n", f"{name}@%h",
             "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             *extra],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the worker exited:\n{self.log.read_text()[-3000:]}"
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise AssertionError(f"the worker did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the reminder worker may be stuck in SMTP
            self.proc.wait(timeout=10)


def wait_for(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_hung_smtp_server_holds_only_the_reminder_worker_and_only_for_email_timeout(postgres, tmp_path):
    redis = PrivateRedis()
    smtp = SilentSMTPServer()
    db = postgres.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "DJANGO_SETTINGS_MODULE": "pcp_portal.settings",
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis.url,
        "CACHE_URL": redis.url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "2",
        "PCP_VAR_DIR": str(tmp_path),
        "REMINDER_RETRY_BACKOFF_SECONDS": "30",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    mail_worker = QueueWorker(env, "reminders", "mail", tmp_path / "mail.log")
    other_worker = QueueWorker(
        env,
        "default,imports,exports,webhooks",
        "other",
        tmp_path / "other.log",
        "--include",
        "tests.ops.queue_probe",
    )
    old = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    point_celery_at(redis.url)  # publish to the private Redis from here on
    try:
        mail_worker.wait_ready()
        other_worker.wait_ready()
        course, _officials = course_with_officials("en", "km", "en")
        session_in(course, 47)
        assert reminders.dispatch().queued == 3  # three sends queued on "reminders"
        wait_for(lambda: smtp.accepted >= 1, 20, "the reminder worker to connect to the SMTP server")
        hung_at = time.monotonic()

        # While the only reminder slot waits on the silent server, the other queues keep flowing.
        probes = tmp_path / "probes.log"
        for name in ("pcp_portal.tasks.queue_probe", "participants.imports.tasks.queue_probe",
                     "participants.reports.tasks.queue_probe"):  # fmt: skip
            app.send_task(name, args=[str(probes)])
        waited = wait_for(
            lambda: probes.exists() and len(probes.read_text().splitlines()) == 3, 10, "the probe tasks"
        )
        assert time.monotonic() - hung_at < 2  # done while the send was still hanging
        assert waited < 2
        lines = sorted(probes.read_text().splitlines())
        assert [line.split()[:2] for line in lines] == [
            ["default", "default"],
            ["exports", "exports"],
            ["imports", "imports"],
        ]
        assert all(line.split()[2].startswith("other@") for line in lines)

        # The hung send gives up after EMAIL_TIMEOUT (2 s), records the try, and frees the slot.
        gave_up = wait_for(
            lambda: ReminderDelivery.objects.filter(attempts=1, status="pending").exclude(reason="").exists(),
            8,
            "the hung send to time out",
        )
        assert gave_up < 2 + 3
        failed = ReminderDelivery.objects.exclude(reason="").first()
        assert "timed out" in failed.reason.lower() or "timeout" in failed.reason.lower()
        # The batch's other rows wait for their back-off; the slot itself is free: the next batch
        # (another session's reminders) starts on it at once.
        other_course, _ = course_with_officials("en")
        session_in(other_course, 47)
        assert reminders.dispatch().queued == 1
        wait_for(lambda: smtp.accepted >= 2, 8, "the next send to start on the freed slot")
        assert "Task participants.tasks.send_deliver" not in other_worker.log.read_text()
        assert "queue_probe[" not in mail_worker.log.read_text()
    finally:
        app.conf.broker_transport_options = old[1]
        point_celery_at(old[0])
        mail_worker.stop()
        other_worker.stop()
        smtp.close()
        redis.destroy()
