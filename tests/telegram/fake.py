"""A fake Telegram Bot API on loopback (a thread of the test process) and the settings that point
the portal, and a worker process, at it.

It records every call (method, body, when) and answers from `script` — (status, body) pairs for
the next calls, e.g. a 429 with `retry_after` or a 403 "bot was blocked by the user" — or with
success and a fresh message id. Malformed JSON from the client would show as a 400 here.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "123456:test-token"
WEBHOOK_SECRET = "webhook-secret_for-tests"


class FakeBotAPI:
    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    status, answer = 400, {"ok": False, "description": "Bad Request: not JSON"}
                    body = None
                with fake.lock:
                    if body is not None:
                        status, answer = (
                            fake.script.pop(0)
                            if fake.script
                            else (200, {"ok": True, "result": {"message_id": len(fake.calls) + 1}})
                        )
                    fake.calls.append(
                        {
                            "method": self.path.rsplit("/", 1)[-1],
                            "path": self.path,
                            "body": body,
                            "status": status,
                            "at": time.monotonic(),
                        }
                    )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[dict]:
        """The bodies of the sendMessage calls that were answered with success."""
        return [c["body"] for c in self.calls if c["method"] == "sendMessage" and c["status"] == 200]


@pytest.fixture
def bot_api(settings):
    """The fake Bot API, with the portal's bot configured against it."""
    fake = FakeBotAPI()
    settings.PCP_TELEGRAM_API_BASE = fake.url
    settings.PCP_TELEGRAM_BOT_TOKEN = TOKEN
    settings.PCP_TELEGRAM_BOT_USERNAME = "pcp_test_bot"
    settings.PCP_TELEGRAM_WEBHOOK_SECRET = WEBHOOK_SECRET
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
