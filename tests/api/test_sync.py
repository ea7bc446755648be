"""A partner keeps an exact copy with `updated_since` and the deleted feed."""

from __future__ import annotations

import datetime
from urllib.parse import quote

from django.utils import timezone

from courses.models import Course, Session
from participants.models import Attendance, Enrollment, Official
from participants.services import attendance_record
from tests.api.conftest import API, assert_staff_changes_copied, make_staff_changes
from tests.factories import SessionFactory

RESOURCES = {
    "sessions": Session,
    "officials": Official,
    "enrollments": Enrollment,
    "attendance": Attendance,
    "courses": Course,
}


def _pull(client, resource: str, since: str | None = None) -> list[dict]:
    url = f"{API}{resource}/?page_size=2" + (f"&updated_since={quote(since)}" if since else "")
    rows = []
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    return rows


def _sync(client, copy: dict, since: str | None) -> None:
    for resource in RESOURCES:
        for row in _pull(client, resource, since):
            copy.setdefault(resource, {})[row["id"]] = row
    if since:
        url = f"{API}deleted/?updated_since={quote(since)}"
        while url:
            page = client.get(url).json()
            for tombstone in page["results"]:
                copy.get(tombstone["resource"], {}).pop(tombstone["object_id"], None)
            url = page["next"]


def test_a_partner_copy_equals_the_database_after_an_incremental_sync(partner_api, world):
    copy: dict = {}
    started = timezone.now().isoformat()
    _sync(partner_api, copy, None)
    assert set(copy["attendance"]) == {a.pk for a in world["attendance"]}

    # Staff change, add and delete records.
    changes = make_staff_changes(world)
    doomed = SessionFactory(course=world["courses"][1], title="Never held")

    second_started = timezone.now().isoformat()
    _sync(partner_api, copy, started)
    doomed_pk = doomed.pk
    doomed.delete()
    _sync(partner_api, copy, second_started)

    for resource, model in RESOURCES.items():
        assert set(copy.get(resource, {})) == set(model.objects.values_list("pk", flat=True)), resource
    assert_staff_changes_copied(copy, world, changes)
    assert doomed_pk not in copy["sessions"]
    # Every field of every copied row is what a full download gives now.
    for resource in RESOURCES:
        assert copy[resource] == {row["id"]: row for row in _pull(partner_api, resource)}, resource


def test_updated_since_returns_only_rows_changed_after_it(partner_api, world):
    since = timezone.now()
    attendance_record(enrollment=world["enrollments"][1], session=world["sessions"][0], status="present")

    response = partner_api.get(f"{API}attendance/", {"updated_since": since.isoformat()})

    assert [row["id"] for row in response.json()["results"]] == [world["attendance"][1].pk]


def test_deleted_feed_names_every_deleted_resource_kind(partner_api, world):
    since = (timezone.now() - datetime.timedelta(seconds=1)).isoformat()
    attendance = world["attendance"][0]
    attendance_pk, enrollment_pk = attendance.pk, attendance.enrollment_id
    Attendance.objects.filter(enrollment_id=enrollment_pk).delete()  # QuerySet.delete: one tombstone each
    Enrollment.objects.get(pk=enrollment_pk).delete()

    feed = partner_api.get(f"{API}deleted/", {"updated_since": since}).json()["results"]

    assert {(row["resource"], row["object_id"]) for row in feed} == {
        ("attendance", attendance_pk),
        ("enrollments", enrollment_pk),
    }
    only = partner_api.get(f"{API}deleted/", {"resource": "enrollments"}).json()["results"]
    assert [row["object_id"] for row in only] == [enrollment_pk]
