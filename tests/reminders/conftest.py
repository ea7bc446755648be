"""Real components for the reminder tests: an SMTP server on loopback and a Celery worker process.

`smtp_server` is aiosmtpd in a thread of the test process, scriptable: refuse the next DATA
with a 4xx or 5xx reply, refuse always, dawdle in RCPT so a test can kill a worker in the
middle of a send, drop the connection in the middle of a conversation, or go down altogether
and come back on the same port. It counts the connections that carried mail. Every accepted
message is also appended to var/smtp-log/<test>.eml to read.
`celery_worker` starts `celery -A pcp_portal worker --pool=solo` on Redis against the test
database (pytest-django's test_<name>), so tests that use it need transactional_db.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[2]
SMTP_LOG_DIR = REPO / "var" / "smtp-log"


class RecordingHandler:
    def __init__(self, log_path: Path) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refusals = 0
        self.script: list[str | None] = []  # replies for the next DATA commands (None: accept)
        self.always: str | None = None  # reply to every DATA, e.g. "451 4.3.0 busy"
        self.rcpt_delay = 0.0
        self.rcpt_count = 0
        self.drop_at_rcpt: set[int] = set()  # close the connection at these RCPT commands (1-based)
        self.peers: list[tuple] = []  # one entry per connection that got as far as RCPT
        self.log_path = log_path

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_count += 1
        if session.peer not in self.peers:
            self.peers.append(session.peer)
        if self.rcpt_count in self.drop_at_rcpt:
            server.transport.close()  # what an idle timeout or a restarting server does
            return "421 4.4.2 Closing connection"
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.script.pop(0) if self.script else self.always
        if reply:
            self.refusals += 1
            return reply
        raw = envelope.original_content or envelope.content
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        with self.log_path.open("ab") as log:
            log.write(b"From pcp-portal-test\n" + raw.replace(b"\r\n", b"\n") + b"\n")
        return "250 2.0.0 Message accepted for delivery"

    def to_addresses(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Switch:
    """Takes the server down (nothing listens on the port: connections are refused) and back."""

    def __init__(self, handler: RecordingHandler, port: int) -> None:
        self.handler, self.port = handler, port
        self.controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(request, settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend points at it for this test."""
    SMTP_LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = SMTP_LOG_DIR / f"{request.node.name}.eml"
    log_path.unlink(missing_ok=True)
    handler = RecordingHandler(log_path)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line at INFO
    port = _free_port()
    switch = Switch(handler, port)
    switch.up()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    handler.port = port
    handler.go_down, handler.come_back = switch.down, switch.up
    yield handler
    switch.down()


@pytest.fixture
def celery_broker(redis_url, settings):
    """Point this process's Celery app at the test Redis, with an empty queue."""
    import redis

    from pcp_portal.celery import app

    client = redis.Redis.from_url(redis_url)
    client.delete("celery", *settings.CELERY_QUEUES_ALL, "unacked", "unacked_index", "unacked_mutex")
    old = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    app._pool = None
    yield client
    app.conf.broker_url, app.conf.broker_transport_options = old
    app._pool = None
    client.delete("celery", *settings.CELERY_QUEUES_ALL, "unacked", "unacked_index", "unacked_mutex")
    client.close()


class Worker:
    def __init__(self, env: dict, log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 45) -> None:
        self.starts += 1
        log = self.log_dir / f"worker-{self.starts}.log"
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pcp_portal",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"reminders-test-{os.getpid()}-{self.starts}@%h",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the Celery worker exited: {log.read_text()[-3000:]}")
            if b" ready." in log.read_bytes():
                return
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the Celery worker did not start in {timeout}s: {log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or cleaned up — a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def celery_worker(transactional_db, postgres, redis_url, celery_broker, smtp_server, settings, tmp_path):
    """A real worker process (started by the test with .start()) on the test database and SMTP server."""
    db = postgres.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    database_url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    settings.REMINDER_CLAIM_TIMEOUT_SECONDS = 3
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pcp_portal.settings",
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "EMAIL_TIMEOUT": "5",
        "PCP_VAR_DIR": str(tmp_path),
        "REMINDER_CLAIM_TIMEOUT_SECONDS": "3",
        # A back-off of 0.2 s doubling to 1 s: an outage spanning many tries passes in seconds.
        "REMINDER_RETRY_BACKOFF_SECONDS": "0.2",
        "REMINDER_RETRY_BACKOFF_MAX_SECONDS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    worker = Worker(env, tmp_path)
    yield worker
    worker.stop()


def wait_for(condition, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
