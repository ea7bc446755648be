"""The users of the load benchmark (benchmarks/load.py starts locust with this file; not for use alone).

Each simulated person does the 5:3:2 mix, chosen at random request by request: save one row of
the register as MIH staff (the row endpoint the register page's script posts to), open an
officer's report page, or read the API with a partner's read-only key. There is no think time:
every user sends its next request as soon as the last one is answered, so the figures are the
portal's throughput at that many concurrent requests.

Each user owns a share of the register rows (row i belongs to user i mod users), so no two users
ever write the same row and the last status the server confirmed for a row is the one the
database must hold at the end; load.py checks it, and that no save was lost or written twice.
Input and output go through files named by the environment: LOAD_SEED (accounts, key, rows, pages),
LOAD_STATE (each row's status and version when this run starts) and LOAD_OUT (the same after it,
with the count of server errors).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import string

from locust import HttpUser, constant, events, task
from locust.clients import HttpSession

with open(os.environ["LOAD_SEED"], encoding="utf-8") as _handle:
    SEED = json.load(_handle)
with open(os.environ["LOAD_STATE"], encoding="utf-8") as _handle:
    STATE: dict[str, list] = json.load(_handle)  # "session:enrollment" -> [status, version(, in flight)]
USERS = int(os.environ["LOAD_USERS"])
STATUSES = ("present", "late", "excused", "absent")
SERVER_ERRORS: list[str] = []
_numbers = itertools.count()


@events.quitting.add_listener
def _write_state(environment, **_kwargs):
    with open(os.environ["LOAD_OUT"], "w", encoding="utf-8") as handle:
        json.dump({"state": STATE, "server_errors": SERVER_ERRORS}, handle)


def _checked(response, kind: str) -> bool:
    """Anything but a 200 is a failure; a 5xx (or no answer at all: status 0) also a server error."""
    if response.status_code == 200:
        response.success()
        return True
    if response.status_code >= 500 or response.status_code == 0:
        SERVER_ERRORS.append(
            f"{kind} {response.request.url if response.request else ''} {response.status_code}"
        )
    response.failure(f"HTTP {response.status_code}")
    return False


class PortalUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        number = next(_numbers)
        self.random = random.Random(number)
        self.rows = [row for index, row in enumerate(SEED["rows"]) if index % USERS == number % USERS]
        events = self.environment.events.request
        self.officer = HttpSession(base_url=self.host, request_event=events, user=self)
        self.partner = HttpSession(base_url=self.host, request_event=events, user=self)
        self.partner.headers["Authorization"] = f"Bearer {SEED['partner_key']}"
        # Signed in already: a session of its own per user and account, made by load.py.
        self.client.cookies.set(SEED["session_cookie"], SEED["sessions"][SEED["staff"]][number])
        self.officer.cookies.set(SEED["session_cookie"], SEED["sessions"][SEED["officer"]][number])
        # Django's CSRF check compares the cookie's secret with the header: any 32 letters or digits.
        self.csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.client.cookies.set(SEED["csrf_cookie"], self.csrf)

    @task(5)
    def register_save(self):
        session, enrollment = self.random.choice(self.rows)
        key = f"{session}:{enrollment}"
        status = self.random.choice(STATUSES)
        confirmed_status, version = STATE[key][:2]
        # Marked as in flight until an answer comes: a save whose answer is cut off when the run
        # stops may or may not be in the database, and load.py accepts either (and says so).
        STATE[key] = [confirmed_status, version, status]
        with self.client.post(
            f"/sessions/{session}/register/{enrollment}/",
            data={"status": status, "note": "", "version": version},
            headers={"X-CSRFToken": self.csrf, "Referer": f"{self.host}/"},
            name="register save",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if _checked(response, "register save"):
                row = response.json()["row"]
                STATE[key] = [row["status"], row["version"]]
            else:  # an answer that is not a save writes nothing
                STATE[key] = [confirmed_status, version]

    @task(3)
    def officer_report(self):
        with self.officer.get(
            self.random.choice(SEED["pages"]),
            name="officer report",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            _checked(response, "officer report")

    @task(2)
    def partner_read(self):
        with self.partner.get(
            self.random.choice(SEED["api"]), name="partner API", catch_response=True
        ) as response:
            _checked(response, "partner API")
