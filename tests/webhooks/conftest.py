"""Real components for the webhook tests: a scriptable HTTP receiver on loopback.

`receiver` records every request (headers and body) and answers as told: a status per request
from `script`, 503 until `down_until`, hang for `hang` seconds, or stream a huge answer.
Loopback addresses and plain http are allowed here (production refuses both).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pcp_portal.models import APIAccessKey
from pcp_portal.webhooks import services


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[int] = []
        self.status = 200
        self.down_until = 0.0
        self.hang = 0.0
        self.huge_bytes = 0
        self.sent_bytes = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "at": time.time(),
                        }
                    )
                    if receiver.script:
                        status = receiver.script.pop(0)
                    elif time.monotonic() < receiver.down_until:
                        status = 503
                    else:
                        status = receiver.status
                if receiver.hang:
                    time.sleep(receiver.hang)
                if receiver.huge_bytes:
                    self.send_response(200)
                    self.send_header("Content-Length", str(receiver.huge_bytes))
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        while receiver.sent_bytes < receiver.huge_bytes:
                            self.wfile.write(chunk)
                            receiver.sent_bytes += len(chunk)
                    except OSError:
                        pass  # the sender hung up after its cap: what we want
                    return
                answer = b"ok" if status < 300 else b"try later"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/pcp?source=portal"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def accepted(self) -> list[dict]:
        """Payloads of the requests answered 2xx cannot be told apart here; unique by event id."""
        seen: dict[str, dict] = {}
        for payload in self.events():
            seen.setdefault(payload["id"], payload)
        return list(seen.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as documented in README.md."""
    timestamp = headers["pcp-webhook-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    given = headers["pcp-webhook-signature"].removeprefix("v1=")
    return hmac.compare_digest(expected, given) and abs(time.time() - int(timestamp)) <= tolerance


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _committed(transactional_db):
    """Every test commits: on PostgreSQL the dispatcher sees a change only once its transaction has
    ended (the change feed's visibility bound), as in production."""


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.PCP_WEBHOOK_ALLOW_HTTP = True
    settings.PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.PCP_WEBHOOK_RETRY_BACKOFF_SECONDS = 0.1
    settings.PCP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS = 0.5
    settings.PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS = 0.0
    settings.PCP_WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.PCP_WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1.0


@pytest.fixture
def partner_key(db):
    api_key, key = APIAccessKey.objects.create_key(name="HR system", role="partner")
    api_key.raw_key = key
    return api_key


@pytest.fixture
def subscription(partner_key, receiver):
    return services.subscription_create(api_key=partner_key, url=receiver.url)


def settle(timeout: float = 120) -> None:
    """On PostgreSQL, wait until the change feed's visibility bound has passed our writes.

    The bound is cluster-wide: a transaction open in any database of the server (another test
    run's) holds it back, and the dispatcher rightly sees nothing newer until it ends.
    """
    from django.db import connection

    from pcp_portal.changefeed import safe_bound

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        mine = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while (safe_bound() or 0) <= mine:
        if time.monotonic() > deadline:
            raise AssertionError(f"the change feed's bound did not pass our writes in {timeout}s")
        time.sleep(0.1)


def dispatch_now() -> int:
    from pcp_portal.webhooks import dispatch

    settle()
    return dispatch.dispatch_all()
