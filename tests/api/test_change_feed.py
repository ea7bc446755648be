"""The change feed (/api/v1/changes/): a partner follows sync tokens and its copy stays exact."""

from __future__ import annotations

import datetime
import threading
import time
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from courses.models import Session
from courses.services import session_create
from participants.models import Attendance, Enrollment, Official
from participants.services import attendance_record
from pcp_portal import changefeed
from pcp_portal.models import ChangeFeedHorizon, OutboxEvent
from tests.api.conftest import API, assert_staff_changes_copied, key_client, make_key, make_staff_changes
from tests.conftest import require
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

FEED = f"{API}changes/"
RESOURCES = ("sessions", "officials", "enrollments", "attendance", "courses", "ministries", "projects")


def wait_until_the_feed_has_passed_every_commit(timeout: float = 60.0) -> None:
    """The feed's bound is the oldest transaction open anywhere on the database server: a parallel
    test run on another database holds it back for a while. Wait for it, never skip a change."""
    newest = OutboxEvent.objects.filter(topic="change").aggregate(newest=Max("txid"))["newest"] or 0
    deadline = time.monotonic() + timeout
    while (changefeed.safe_bound() or newest + 1) <= newest:
        assert time.monotonic() < deadline, "a transaction elsewhere held the feed back for a minute"
        time.sleep(0.05)


def feed(client, since: str | None = None, **params) -> dict:
    wait_until_the_feed_has_passed_every_commit()
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    url = FEED + "?" + query + (f"&since={quote(since)}" if since else "")
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def follow(client, copy: dict, token: str, **params) -> str:
    """Apply pages until the feed says nothing more is waiting; return the next token."""
    while True:
        page = feed(client, token, **params)
        keys = [(c["resource"], c["id"]) for c in page["changes"]]
        assert len(keys) == len(set(keys)), "an object is listed twice on one page"
        for change in page["changes"]:
            rows = copy.setdefault(change["resource"], {})
            if change["op"] == "delete":
                rows.pop(change["id"], None)
            else:
                rows[change["id"]] = change["data"]
        token = page["next_since"]
        if not page["more"]:
            return token


def full_download(client, resource: str) -> dict[int, dict]:
    url, rows = f"{API}{resource}/?page_size=1000", {}
    while url:
        page = client.get(url).json()
        rows.update({row["id"]: row for row in page["results"]})
        url = page["next"]
    return rows


def first_sync(client) -> tuple[dict, str]:
    token = feed(client)["next_since"]  # the token first, then the lists: nothing falls in between
    return {resource: full_download(client, resource) for resource in RESOURCES}, token


def assert_exact(client, copy: dict) -> None:
    for resource in RESOURCES:
        assert copy.get(resource, {}) == full_download(client, resource), resource


def test_a_partner_following_the_feed_keeps_an_exact_copy(partner_api, world):
    copy, token = first_sync(partner_api)
    changes = make_staff_changes(world)

    token = follow(partner_api, copy, token)

    assert_exact(partner_api, copy)
    assert_staff_changes_copied(copy, world, changes)
    # Partners get the partner representation in the feed too: no contact details.
    assert all("email" not in row and "phone" not in row for row in copy["officials"].values())

    # Nothing changed: the next call is empty and the token still works.
    page = feed(partner_api, token)
    assert page["changes"] == [] and page["more"] is False


def test_a_change_committed_after_the_partner_noted_its_time_is_still_delivered(partner_api, world):
    """The race that loses rows with `updated_since`: saved before the sync's start, committed after."""
    require(connection.vendor == "postgresql", "needs PostgreSQL: the race needs concurrent transactions")
    copy, token = first_sync(partner_api)
    saved, release = threading.Event(), threading.Event()
    target = world["attendance"][0]

    def slow_writer():
        try:
            with transaction.atomic():
                row = Attendance.objects.select_for_update().get(pk=target.pk)
                row.status = "absent"
                row.version += 1
                row.save()  # stamped now …
                saved.set()
                release.wait(10)  # … committed only after the partner's next sync started
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert saved.wait(10)
    since = timezone.now().isoformat()
    token = follow(partner_api, copy, token)
    release.set()
    writer.join()

    legacy = partner_api.get(f"{API}attendance/?updated_since={quote(since)}").json()["results"]
    assert target.pk not in [row["id"] for row in legacy]  # why updated_since is deprecated
    token = follow(partner_api, copy, token)
    assert copy["attendance"][target.pk]["status"] == "absent"
    assert_exact(partner_api, copy)


def test_the_feed_of_one_resource_lists_only_it_and_pages_without_repeats(partner_api, world):
    token = feed(partner_api, resource="attendance")["next_since"]
    for enrollment in world["enrollments"]:
        attendance_record(enrollment=enrollment, session=world["sessions"][1], status="present")
        attendance_record(enrollment=enrollment, session=world["sessions"][1], status="late")
    session_create(course=world["courses"][0], title="Not attendance")
    seen, pages = [], 0
    while True:
        page = feed(partner_api, token, resource="attendance", page_size=2)
        pages += 1
        assert len(page["changes"]) <= 2
        seen += [(c["resource"], c["id"], c["data"]["status"]) for c in page["changes"]]
        token = page["next_since"]
        if not page["more"]:
            break
    assert {r for r, _i, _s in seen} == {"attendance"}
    assert {i for _r, i, _s in seen} == set(
        Attendance.objects.filter(session=world["sessions"][1]).values_list("pk", flat=True)
    )
    assert all(status == "late" for *_rest, status in seen)  # the current row, not the event's
    assert pages >= 2


def test_the_feed_costs_the_same_queries_for_10_or_200_changes(
    partner_api, world, django_assert_max_num_queries
):
    counts = []
    for n in (10, 200):
        token = feed(partner_api)["next_since"]
        course = world["courses"][0]
        Official.objects.bulk_create(
            [
                Official(family_name=f"Bulk{n}-{i}", given_name="A", ministry=world["ministries"][0])
                for i in range(n)
            ]
        )
        session_create(course=course, title=f"Session for {n}")
        wait_until_the_feed_has_passed_every_commit()
        with django_assert_max_num_queries(12) as captured:
            page = partner_api.get(FEED, {"since": token, "page_size": 1000}).json()
        assert len(page["changes"]) == n + 1
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=not-a-token", "since"),
        ("since=", "since"),
        ("resource=", "resource"),
        ("resource=people", "resource"),
        ("page_size=0", "page_size"),
        ("page_size=1001", "page_size"),
        ("page_size=1e3", "page_size"),
        ("updated_since=2020-01-01T00:00:00Z", "updated_since"),
    ],
)
def test_bad_feed_parameters_get_400_naming_the_field(partner_api, world, query, field):
    response = partner_api.get(f"{FEED}?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_a_tampered_token_is_refused(partner_api, world):
    token = feed(partner_api)["next_since"]
    value, _sep, signature = token.rpartition(":")
    tampered = value[:-2] + ("AA" if value[-2:] != "AA" else "BB") + ":" + signature
    response = partner_api.get(f"{FEED}?since={quote(tampered)}")
    assert response.status_code == 400 and "altered" in response.json()["since"][0]


def test_a_token_of_another_key_or_another_resource_is_refused(partner_api, world):
    token = feed(partner_api, resource="sessions")["next_since"]
    other = key_client(make_key("partner"))
    response = other.get(f"{FEED}?resource=sessions&since={quote(token)}")
    assert response.status_code == 400 and "another API key" in response.json()["since"][0]
    response = partner_api.get(f"{FEED}?resource=attendance&since={quote(token)}")
    assert response.status_code == 400 and "another resource" in response.json()["since"][0]
    response = partner_api.get(f"{FEED}?since={quote(token)}")
    assert response.status_code == 400


def test_a_token_older_than_the_retention_gets_410_and_a_fresh_one_works(partner_api, world, settings):
    token = feed(partner_api)["next_since"]
    session_create(course=world["courses"][0], title="Long ago")
    OutboxEvent.objects.filter(topic="change").update(created_at=timezone.now() - datetime.timedelta(days=40))
    settings.PCP_CHANGE_FEED_RETENTION_DAYS = 30
    assert changefeed.prune() > 0
    assert ChangeFeedHorizon.objects.get(pk=1).event_id > 0

    response = partner_api.get(f"{FEED}?since={quote(token)}")
    assert response.status_code == 410
    assert "full sync" in response.json()["detail"]
    fresh = feed(partner_api)["next_since"]
    session_create(course=world["courses"][0], title="Today")
    assert [c["data"]["title"] for c in feed(partner_api, fresh)["changes"]] == ["Today"]


def test_anonymous_callers_get_401(client, world):
    assert client.get(FEED).status_code in (401, 403)
    assert key_client(None).get(FEED).status_code == 401


def test_every_write_path_reaches_the_feed_bulk_updates_and_deletes_included(partner_api, world):
    token = feed(partner_api)["next_since"]
    Session.objects.filter(pk=world["sessions"][0].pk).update(title="Renamed by a bulk update")
    Enrollment.objects.filter(pk=world["enrollments"][0].pk).update(position="Director")
    doomed = SessionFactory(course=world["courses"][1], title="Never held")
    doomed_pk = doomed.pk
    doomed.delete()
    changes = {(c["resource"], c["id"]): c for c in feed(partner_api, token)["changes"]}
    assert changes[("sessions", world["sessions"][0].pk)]["data"]["title"] == "Renamed by a bulk update"
    assert ("enrollments", world["enrollments"][0].pk) in changes
    assert changes[("sessions", doomed_pk)]["op"] == "delete"


def test_a_rolled_back_change_never_reaches_the_feed(partner_api, world):
    token = feed(partner_api)["next_since"]
    with pytest.raises(RuntimeError), transaction.atomic():
        session_create(course=world["courses"][0], title="Rolled back")
        raise RuntimeError
    assert feed(partner_api, token)["changes"] == []
