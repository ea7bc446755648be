"""From change rows to deliveries: each subscription follows the change feed with its own cursor.

The change rows are written by database triggers in the changing transaction (pcp_portal.outbox),
so a rolled-back write has none and a committed one always has one. Each subscription reads them
exactly as the change feed does (pcp_portal.changefeed.read_events: commit order, never past a
transaction still running), turns them into named events represented by the API's own
serializers for the key's role (a partner gets no contact details), and moves its cursor in the
same transaction as the deliveries it writes: a crash leaves either both or neither.

Names: a change is named against the object's state in the subscription's previous delivery of
it (`state`): a session whose status became `cancelled` is `session.cancelled`; an object first
seen by this subscription and created after it is `*.created`. The payload is the object as it
is when the dispatcher reads it (as in the change feed): changes of one object that fall into one
batch are one event, except that a creation or a cancellation/withdrawal is never hidden by a
later change (both events are sent, each with the current representation).

Attendance is batched: the changes of one session's register within the window
(PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS) join one `attendance.changed` delivery, sent when the
window closes.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from importlib import import_module
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.versioning import NamespaceVersioning

from pcp_portal import outbox
from pcp_portal.api import APIKeyUser
from pcp_portal.changefeed import read_events
from pcp_portal.models import APIAccessKey, DeletedRecord, OutboxEvent, WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks.events import EVENTS  # noqa: F401 - re-exported for the services

logger = logging.getLogger(__name__)

SEND_TASK = "pcp_portal.webhooks.tasks.send_deliveries"

# The change rows of these resources become events; other resources' changes are skipped.
WEBHOOK_RESOURCES = ("sessions", "enrollments", "attendance", "officials", "certificates")
DELETED = {
    "sessions": "session.deleted",
    "enrollments": "enrollment.deleted",
    "officials": "official.deleted",
}


# A deleted row whose tombstone names the row it was merged into also makes this event.
MERGED = {"officials": "official.merged"}


def _merged_into(resource: str, object_ids: list[int]) -> dict[int, int]:
    """{deleted id: the id it was merged into} from the tombstones (no query when none is gone)."""
    if resource not in MERGED or not object_ids:
        return {}
    return dict(
        DeletedRecord.objects.filter(resource=resource, object_id__in=object_ids, replaced_by__isnull=False)
        .order_by("id")
        .values_list("object_id", "replaced_by")
    )


def feed_resources() -> dict:
    """{resource: viewset}: the map webhook payloads are represented with (the change feed's, and
    certificates), from the root URL conf.

    The URL conf is the one module that imports every app; the platform takes the map from it at
    run time instead of importing the apps above it.
    """
    return import_module(settings.ROOT_URLCONF).WEBHOOK_RESOURCES


def api_request(api_key: APIAccessKey) -> Request:
    """A request as `api_key` would make it, for serializing exactly as the API answers that key."""
    base = urlsplit(settings.PORTAL_BASE_URL or "http://127.0.0.1:8000")
    secure = base.scheme == "https"
    port = base.port or (443 if secure else 80)
    http = RequestFactory().get("/api/v1/", SERVER_NAME=base.hostname, SERVER_PORT=str(port), secure=secure)
    netloc = base.netloc
    # Links are made against the portal's public address, not this host's ALLOWED_HOSTS check.
    http.get_host = lambda: netloc
    request = Request(http)
    request.user = APIKeyUser(api_key)
    request.version = "v1"
    request.versioning_scheme = NamespaceVersioning()
    return request


def represent(request, resource: str, ids: list[int]) -> dict[int, tuple[object, dict]]:
    """{id: (object, its API representation)} for the rows that still exist."""
    viewset_class = feed_resources()[resource]
    viewset = viewset_class(request=request, format_kwarg=None, action="retrieve", args=(), kwargs={})
    objects = list(viewset.get_queryset().filter(pk__in=ids).order_by())
    data = viewset.get_serializer(objects, many=True).data
    rows = {row["id"]: row for row in data}
    return {obj.pk: (obj, rows[obj.pk]) for obj in objects if obj.pk in rows}


def _version(obj) -> int:
    stamp = getattr(obj, "updated_at", None) or getattr(obj, "issued_at", None)
    return int(stamp.timestamp() * 1_000_000) if stamp else 0


def _micros(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _names(resource: str, obj, previous: str | None, sub: WebhookSubscription) -> list[str]:
    """The events one changed object makes for `sub`, given its state in the previous delivery."""
    if resource == "certificates":
        # Issued once and never changed or re-issued: one event, for certificates issued after
        # the subscription (and none for a certificate removed, which only the admin can do).
        issued = obj is not None and previous is None and obj.issued_at >= sub.created_at
        return ["certificate.issued"] if issued else []
    if obj is None:
        return [DELETED[resource]]
    new = previous is None and obj.created_at >= sub.created_at
    if resource == "officials":
        return ["official.updated"]
    if resource == "sessions":
        names = ["session.created"] if new else []
        if obj.status == "cancelled" and previous != "cancelled":
            names.append("session.cancelled")
        return names or ["session.updated"]
    # enrollments
    names = ["enrollment.created"] if new else []
    if obj.status == "withdrawn" and previous != "withdrawn":
        if new or previous is not None or (obj.withdrawn_at and obj.withdrawn_at >= sub.created_at):
            names.append("enrollment.withdrawn")
    elif obj.status == "enrolled" and previous == "withdrawn":
        names.append("enrollment.reinstated")
    return names or ["enrollment.updated"]


def _payload(event_id, name, at, resource, object_id, version, data) -> dict:
    return {
        "id": str(event_id),
        "event": name,
        "created_at": at.isoformat(),
        "resource": resource,
        "object_id": object_id,
        "version": version,
        "data": data,
    }


def dispatch_subscription(subscription_id: int, *, limit: int | None = None) -> tuple[int, bool]:
    """Turn the next changes after the subscription's cursor into deliveries: (how many, more waiting?).

    A constant number of queries per call, whatever the number of changes (one per resource to
    represent them, one for previous states, one for open attendance batches, and the writes).
    """
    limit = limit or settings.PCP_WEBHOOK_DISPATCH_BATCH
    sub = WebhookSubscription.objects.select_related("api_key").filter(pk=subscription_id).first()
    if sub is None or sub.status != WebhookSubscription.Status.ACTIVE:
        return 0, False
    position = (sub.cursor_txid, sub.cursor_event_id)
    with transaction.atomic():
        # The events are read before this transaction writes anything (the visibility bound must
        # not be held back by our own transaction id); the lock then checks nobody moved the cursor.
        events, next_position, more = read_events(position, resource=None, limit=limit)
        locked = (
            WebhookSubscription.objects.select_for_update(skip_locked=True)
            .filter(pk=sub.pk, status=WebhookSubscription.Status.ACTIVE, cursor_txid=position[0])
            .filter(cursor_event_id=position[1])
            .values_list("pk", flat=True)
        )
        if not list(locked):
            return 0, False
        count = _deliveries_for(sub, events) if events else 0
        WebhookSubscription.objects.filter(pk=sub.pk).update(
            cursor_txid=next_position[0], cursor_event_id=next_position[1]
        )
        if count:
            outbox.enqueue(SEND_TASK, sub.pk)
    return count, more


def _deliveries_for(sub: WebhookSubscription, events: list) -> int:
    times = dict(
        OutboxEvent.objects.filter(pk__in=[event[1] for event in events]).values_list("id", "created_at")
    )
    latest: dict[tuple[str, int], datetime.datetime] = {}
    for _txid, event_pk, name, object_id, _op in events:
        if name in WEBHOOK_RESOURCES:
            latest[(name, object_id)] = times.get(event_pk) or timezone.now()
    if not latest:
        return 0
    request = api_request(sub.api_key)
    now = timezone.now()
    give_up_at = now + datetime.timedelta(hours=settings.PCP_WEBHOOK_RETRY_HOURS)
    new: list[WebhookDelivery] = []
    by_resource: dict[str, list[int]] = {}
    for resource, object_id in latest:
        by_resource.setdefault(resource, []).append(object_id)

    previous: dict[tuple[str, int], tuple[int, str]] = {}
    plain = [r for r in by_resource if r != "attendance"]
    if plain:
        condition = Q()
        for resource in plain:
            condition |= Q(resource=resource, object_id__in=by_resource[resource])
        for resource, object_id, pk, state in (
            WebhookDelivery.objects.filter(condition, subscription=sub)
            .order_by()
            .values_list("resource", "object_id", "id", "state")
        ):
            if (resource, object_id) not in previous or previous[(resource, object_id)][0] < pk:
                previous[(resource, object_id)] = (pk, state)

    for resource in plain:
        rows = represent(request, resource, by_resource[resource])
        gone = [object_id for object_id in by_resource[resource] if object_id not in rows]
        merged_into = _merged_into(resource, gone)
        for object_id in by_resource[resource]:
            obj, data = rows.get(object_id, (None, None))
            at = latest[(resource, object_id)]
            before = previous.get((resource, object_id))
            names = _names(resource, obj, before[1] if before else None, sub)
            if object_id in merged_into:
                names.append(MERGED[resource])
            for name in names:
                if not sub.wants(name):
                    continue
                if name == MERGED.get(resource):
                    data = {"id": object_id, "merged_into": merged_into[object_id]}
                event_id = uuid.uuid4()
                version = _version(obj) if obj is not None else _micros(at)
                new.append(
                    WebhookDelivery(
                        subscription=sub,
                        event_id=event_id,
                        event=name,
                        resource=resource,
                        object_id=object_id,
                        version=version,
                        state=getattr(obj, "status", "") if obj is not None else "",
                        payload=_payload(event_id, name, at, resource, object_id, version, data),
                        created_at=now,
                        next_attempt_at=now,
                        give_up_at=give_up_at,
                    )
                )
    if "attendance" in by_resource and sub.wants("attendance.changed"):
        new.extend(_attendance_batches(sub, request, by_resource["attendance"], latest, now, give_up_at))
    created = [d for d in new if d.pk is None]
    WebhookDelivery.objects.bulk_create(created)
    merged = [d for d in new if d.pk is not None]
    if merged:
        WebhookDelivery.objects.bulk_update(merged, ["payload", "version"])
    return len(new)


def _attendance_batches(sub, request, ids, latest, now, give_up_at) -> list[WebhookDelivery]:
    """New or extended `attendance.changed` deliveries, one per session whose register changed."""
    rows = represent(request, "attendance", ids)
    per_session: dict[int, list[tuple[object, dict, datetime.datetime]]] = {}
    for object_id in ids:
        if object_id not in rows:
            # A deleted attendance row has no session to batch under; deletions come with the
            # enrolment's own deletion (enrollment.deleted) and in the API's `deleted` feed.
            continue
        obj, data = rows[object_id]
        per_session.setdefault(obj.session_id, []).append((obj, data, latest[("attendance", object_id)]))
    if not per_session:
        return []
    open_batches = {
        d.object_id: d
        for d in WebhookDelivery.objects.filter(
            subscription=sub,
            resource="attendance",
            object_id__in=list(per_session),
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
            batch_until__gt=now,
        ).order_by("id")
    }
    window = datetime.timedelta(seconds=settings.PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS)
    result = []
    for session_id, changes in per_session.items():
        at = max(change[2] for change in changes)
        version = max(_version(change[0]) for change in changes)
        delivery = open_batches.get(session_id)
        if delivery is None:
            event_id = uuid.uuid4()
            delivery = WebhookDelivery(
                subscription=sub,
                event_id=event_id,
                event="attendance.changed",
                resource="attendance",
                object_id=session_id,
                created_at=now,
                batch_until=now + window,
                next_attempt_at=now + window,
                give_up_at=give_up_at + window,
                payload=_payload(event_id, "attendance.changed", at, "attendance", session_id, 0, None),
            )
            existing: dict = {}
        else:
            existing = {row["id"]: row for row in delivery.payload["data"]["attendance"]}
        for _obj, data, _at in changes:
            existing[data["id"]] = data
        delivery.version = max(delivery.version or 0, version)
        delivery.payload = {
            **delivery.payload,
            "created_at": max(at.isoformat(), delivery.payload["created_at"]),
            "version": delivery.version,
            "data": {"session": session_id, "attendance": [existing[key] for key in sorted(existing)]},
        }
        result.append(delivery)
    return result


def dispatch_all() -> int:
    """Every active subscription, until each has caught up (or a round limit): deliveries made."""
    total = 0
    for pk in WebhookSubscription.objects.filter(status=WebhookSubscription.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        for _round in range(20):
            count, more = dispatch_subscription(pk)
            total += count
            if not more:
                break
    return total


def subscriptions_due(now: datetime.datetime | None = None) -> list[int]:
    """Active subscriptions with a delivery due and no sender running: a backstop for lost tasks."""
    now = now or timezone.now()
    return list(
        WebhookSubscription.objects.filter(status=WebhookSubscription.Status.ACTIVE)
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .filter(
            deliveries__status=WebhookDelivery.Status.PENDING,
            deliveries__next_attempt_at__lte=now,
        )
        .values_list("pk", flat=True)
        .distinct()
    )


def start_position() -> tuple[int, int]:
    """Where a new subscription starts: now (it is told of changes from its creation on)."""
    from pcp_portal.changefeed import head_position

    return head_position()
