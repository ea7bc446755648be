"""An example partner system: a local copy of the portal's attendance kept exact through a client
generated from the published schema. It is the README's sync loop, for real; CI runs it
(tests/api/test_generated_client.py) against a live portal.

Generate the client once (it needs nothing but the schema):

    openapi-python-client generate --url https://portal.example/api/schema/?format=json \
        --meta none --output-path pcp_portal_client

then `AttendanceMirror(AuthenticatedClient(base_url=..., token=KEY)).full_sync()` and, on a
schedule, `.follow()`.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from pcp_portal_client.api.v1 import v1_attendance_list, v1_changes_retrieve
from pcp_portal_client.models import Attendance, OpEnum, V1ChangesRetrieveResource
from pcp_portal_client.types import UNSET

RESOURCE = V1ChangesRetrieveResource.ATTENDANCE


class AttendanceMirror:
    def __init__(self, client) -> None:
        self.client = client
        self.rows: dict[int, Attendance] = {}
        self.token: str | None = None  # keep it with the copy: it is the copy's position

    def full_sync(self) -> None:
        """A token for "now" first, then every row: a change in between is in the feed as well."""
        self.token = v1_changes_retrieve.sync(client=self.client, resource=RESOURCE).next_since
        self.rows, cursor = {}, UNSET
        while True:
            page = v1_attendance_list.sync(client=self.client, cursor=cursor, page_size=1000)
            self.rows.update({row.id: row for row in page.results})
            if not page.next_:
                return
            cursor = parse_qs(urlparse(page.next_).query)["cursor"][0]

    def follow(self) -> int:
        """Apply every change since the token; returns how many. Call it as often as you like."""
        applied = 0
        while True:
            response = v1_changes_retrieve.sync_detailed(
                client=self.client, resource=RESOURCE, since=self.token
            )
            if response.status_code == 410:  # too old, or the portal was restored from a backup
                self.full_sync()
                continue
            page = response.parsed
            for change in page.changes:
                if change.op == OpEnum.DELETE:
                    self.rows.pop(change.id, None)
                else:
                    self.rows[change.id] = Attendance.from_dict(change.data)
            applied += len(page.changes)
            self.token = page.next_since
            if not page.more:
                return applied
