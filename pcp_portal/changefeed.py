"""The change feed: every committed change of the API's resources, in an order a partner can follow.

Why not `updated_at > updated_since`: a row is stamped when it is saved, not when its
transaction commits. A row saved before a partner notes its sync time but committed after it is
never returned by any later sync, and the partner's copy silently drifts.

The guarantee: each change is an OutboxEvent row (topic ``change``) written by a trigger in the
changing transaction, with that transaction's id (``txid``). A reader takes the oldest
transaction still running (PostgreSQL ``pg_snapshot_xmin(pg_current_snapshot())``) and returns
only events with ``txid`` below it, ordered by ``(txid, id)``. Every transaction below that
bound has ended, so its events are all visible now, and every transaction that has not yet
written gets a ``txid`` above it; so no event ever appears behind a position a reader has
passed. The token a reader receives is that position, signed and bound to the caller and the
resource. On SQLite (one writer at a time) ids commit in order and the id alone is the
position.

A page lists each object once, with its current representation (the same as the resource's own
list for the caller's role) or as deleted; a later change of the same object appears again
later, so applying pages in order leaves the partner's copy exact.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pcp_portal.api import READERS, WRITERS, APIKeyUser, StrictQueryParamsMixin, page_size_param
from pcp_portal.models import TOMBSTONED_MODELS, ChangeFeedHorizon, OutboxEvent

# The API's resources a partner copies: those with deletion records, which the change feed serves.
SYNCED_RESOURCES = tuple(TOMBSTONED_MODELS.values())
MAX_POSITION = 2**63 - 1
ALL = "*"
_signer = signing.Signer(salt="pcp-portal.api.change-feed")


class FeedGone(exceptions.APIException):
    status_code = 410
    default_detail = gettext_lazy(
        "This sync token is older than the change feed keeps; "
        "do a full sync and start again from a new token."
    )
    default_code = "gone"


# Positions -------------------------------------------------------------------------------------


def safe_bound() -> int | None:
    """Events with txid below this are final (None: every committed event is, on SQLite)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def head_position() -> tuple[int, int]:
    """The position just after every event a reader may see now."""
    bound = safe_bound()
    if bound is not None:
        head = (bound - 1, MAX_POSITION)
    else:
        last = (
            OutboxEvent.objects.filter(topic=OutboxEvent.Topic.CHANGE)
            .order_by("-id")
            .values_list("id", flat=True)
        )
        head = (0, last.first() or 0)
    # Never behind what pruning removed (a transaction running for longer than the retention).
    return max(head, _horizon() or (0, 0))


def _horizon() -> tuple[int, int] | None:
    return ChangeFeedHorizon.objects.filter(pk=1).values_list("txid", "event_id").first()


def _epoch() -> str:
    return ChangeFeedHorizon.objects.filter(pk=1).values_list("epoch", flat=True).first() or ""


def start_new_epoch() -> str:
    """After a restore: every token issued so far gets 410, and the feed begins at the present."""
    epoch = uuid.uuid4().hex
    with transaction.atomic():
        horizon, _created = ChangeFeedHorizon.objects.select_for_update().get_or_create(pk=1)
        horizon.txid, horizon.event_id = max(head_position(), (horizon.txid, horizon.event_id))
        horizon.epoch = epoch
        horizon.save()
    return epoch


def read_events(
    position: tuple[int, int], *, resource: str | None, limit: int
) -> tuple[list[tuple[int, int, str, int, str]], tuple[int, int], bool]:
    """Up to `limit` events after `position`: (events, next position, more waiting?)."""
    bound = safe_bound()
    sql = [
        "SELECT txid, id, name, object_id, op FROM pcp_portal_outboxevent",
        # A row comparison, so PostgreSQL reads the (txid, id) index as one range from the position.
        "WHERE topic = 'change' AND (txid, id) > (%s, %s)",
    ]
    params: list = [position[0], position[1]]
    if bound is not None:
        sql.append("AND txid < %s")
        params.append(bound)
    if resource is not None:
        sql.append("AND name = %s")
        params.append(resource)
    sql.append("ORDER BY txid, id LIMIT %s")
    params.append(limit + 1)
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql), params)
        rows = cursor.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        last = rows[-1]
        return rows, (last[0], last[1]), True
    if bound is not None:
        # Caught up: every event below the bound has been read, so the next read starts at it.
        return rows, max((bound - 1, MAX_POSITION), position), False
    return rows, ((rows[-1][0], rows[-1][1]) if rows else position), False


# Tokens ----------------------------------------------------------------------------------------


def caller_ident(request) -> str:
    user = request.user
    if isinstance(user, APIKeyUser):
        return f"k:{user.api_key.prefix}"
    return f"u:{user.pk}"


def make_token(position: tuple[int, int], *, resource: str, caller: str) -> str:
    return _signer.sign_object(
        {"r": resource, "c": caller, "p": list(position), "e": _epoch()}, compress=True
    )


def read_token(token: str, *, resource: str, caller: str) -> tuple[int, int]:
    try:
        data = _signer.unsign_object(token)
        position = data["p"]
        if (
            not isinstance(data, dict)
            or not isinstance(position, list)
            or len(position) != 2
            or not all(type(p) is int and 0 <= p <= MAX_POSITION for p in position)
        ):
            raise ValueError
    except (signing.BadSignature, ValueError, TypeError, KeyError, AttributeError):
        raise exceptions.ValidationError(
            {
                "since": [
                    _("This sync token is invalid or was altered; use a token exactly as the feed gave it.")
                ]
            }
        ) from None
    if data.get("c") != caller:
        raise exceptions.ValidationError(
            {"since": [_("This sync token was issued to another API key or user.")]}
        )
    if data.get("r") != resource:
        raise exceptions.ValidationError(
            {
                "since": [
                    _(
                        "This sync token belongs to another resource; "
                        "pass the same `resource` as when you got it."
                    )
                ]
            }
        )
    txid, event_id, epoch = ChangeFeedHorizon.objects.filter(pk=1).values_list(
        "txid", "event_id", "epoch"
    ).first() or (0, 0, "")
    if tuple(position) < (txid, event_id) or data.get("e", "") != epoch:
        raise FeedGone()
    return position[0], position[1]


# Retention -------------------------------------------------------------------------------------


def prune(*, now: datetime.datetime | None = None) -> int:
    """Drop change events older than the retention and handed-over tasks; move the horizon."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PCP_CHANGE_FEED_RETENTION_DAYS)
    with transaction.atomic():
        old = OutboxEvent.objects.filter(topic=OutboxEvent.Topic.CHANGE, created_at__lt=cutoff)
        newest = old.order_by("-txid", "-id").values_list("txid", "id").first()
        removed = 0
        if newest is not None:
            horizon, _created = ChangeFeedHorizon.objects.select_for_update().get_or_create(pk=1)
            if newest > (horizon.txid, horizon.event_id):
                horizon.txid, horizon.event_id = newest
            horizon.pruned_at = now
            horizon.save()
            # Everything at or before the horizon goes, so a token past it has lost nothing.
            removed, _ = (
                OutboxEvent.objects.filter(topic=OutboxEvent.Topic.CHANGE)
                .extra(where=["(txid, id) <= (%s, %s)"], params=list(newest))
                .delete()
            )
        tasks, _ = OutboxEvent.objects.filter(
            topic=OutboxEvent.Topic.TASK, relayed_at__lt=now - datetime.timedelta(days=7)
        ).delete()
    return removed + tasks


# The endpoint ----------------------------------------------------------------------------------

FEED_DESCRIPTION = gettext_lazy(
    "Every committed change of the resources below, in an order that never skips a change, whatever "
    "the length of the transactions that made it. Without `since`, the answer holds no changes and a "
    "`next_since` token for now: take it, then download the resource lists in full, then call this "
    "endpoint with `since=<token>` again and again, applying each change (upsert `data` by `id`, or "
    "remove the row for `delete`) and keeping `next_since` for the next call. Call again at once "
    "while `more` is true. A token is bound to your key and to `resource`. 410: the token is older "
    "than the feed keeps (PCP_CHANGE_FEED_RETENTION_DAYS); do a full sync and start from a new token."
)


class ChangeFeedView(StrictQueryParamsMixin, APIView):
    """GET /api/v1/changes/: the commit-ordered change feed of every synced resource."""

    api_read_roles = READERS
    # As on every read-only resource: staff pass the permission and learn the method is not offered.
    api_write_roles = WRITERS
    resources: dict = {}  # {resource name: its ReadOnlyModelViewSet}, given by the URL conf
    extra_query_params = ("since", "resource", "page_size")
    default_page_size = 500
    max_page_size = 1000

    def _params(self, request) -> tuple[str | None, int]:
        resource = request.query_params.get("resource")
        if resource is not None and resource not in self.resources:
            raise exceptions.ValidationError(
                {
                    "resource": [
                        _("Unknown resource. Known: %(known)s.")
                        % {"known": ", ".join(sorted(self.resources))}
                    ]
                }
            )
        size = page_size_param(request, default=self.default_page_size, maximum=self.max_page_size)
        return resource, size

    def _represent(self, request, resource: str, ids: list[int]) -> dict[int, dict]:
        viewset = self.resources[resource](
            request=request, format_kwarg=None, action="retrieve", args=(), kwargs={}
        )
        # No default ordering: the serializer keys rows by id, and ordering attendance joins 8 tables.
        objects = list(viewset.get_queryset().filter(pk__in=ids).order_by())
        data = viewset.get_serializer(objects, many=True).data
        return {row["id"]: row for row in data}

    @extend_schema(
        summary=gettext_lazy("Changes since a sync token"),
        description=FEED_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "since",
                {"type": "string", "minLength": 1},
                description=gettext_lazy(
                    "The `next_since` token of your previous call; omit it to get a first token."
                ),
            ),
            OpenApiParameter(
                "resource",
                OpenApiTypes.STR,
                description=gettext_lazy("Only this resource's changes (omit for every resource)."),
                enum=list(SYNCED_RESOURCES),
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 1000},
                description=gettext_lazy("Changes per answer, 1 to 1000 (default 500)."),
            ),
        ],
        responses={
            200: inline_serializer(
                "ChangeFeedPage",
                {
                    "changes": inline_serializer(
                        "Change",
                        {
                            "resource": serializers.CharField(),
                            "id": serializers.IntegerField(),
                            "op": serializers.ChoiceField(choices=["upsert", "delete"]),
                            "data": serializers.JSONField(
                                allow_null=True,
                                help_text=gettext_lazy(
                                    "The row as the resource's list gives it; null for delete."
                                ),
                            ),
                        },
                        many=True,
                    ),
                    "next_since": serializers.CharField(),
                    "more": serializers.BooleanField(),
                },
            ),
            410: OpenApiResponse(description=gettext_lazy("The token is too old: do a full sync.")),
        },
    )
    def get(self, request):
        resource, size = self._params(request)
        scope = resource or ALL
        caller = caller_ident(request)
        raw = request.query_params.get("since")
        if raw is None:
            return Response(
                {
                    "changes": [],
                    "next_since": make_token(head_position(), resource=scope, caller=caller),
                    "more": False,
                }
            )
        position = read_token(raw, resource=scope, caller=caller)
        events, next_position, more = read_events(position, resource=resource, limit=size)
        latest: dict[tuple[str, int], str] = {}
        for _txid, _id, name, object_id, op in events:
            latest[(name, object_id)] = op  # an object changed twice on one page is listed once
        by_resource: dict[str, list[int]] = {}
        for name, object_id in latest:
            if name in self.resources:
                by_resource.setdefault(name, []).append(object_id)
        rows = {name: self._represent(request, name, ids) for name, ids in by_resource.items()}
        changes = []
        for (name, object_id), _op in latest.items():
            if name not in rows:
                continue
            data = rows[name].get(object_id)
            # Gone now (whatever the event said): a delete; a later delete event repeats it harmlessly.
            changes.append(
                {
                    "resource": name,
                    "id": object_id,
                    "op": "upsert" if data is not None else "delete",
                    "data": data,
                }
            )
        return Response(
            {
                "changes": changes,
                "next_since": make_token(next_position, resource=scope, caller=caller),
                "more": more,
            }
        )
