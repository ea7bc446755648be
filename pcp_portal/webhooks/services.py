"""Every write to subscriptions and replays: the API and the admin call these."""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pcp_portal import outbox
from pcp_portal.models import APIAccessKey, WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks import addresses
from pcp_portal.webhooks.dispatch import EVENTS, SEND_TASK, start_position


def validate_url(url: str) -> str:
    """The URL if it may be called now (scheme, no credentials, and every address it resolves to)."""
    try:
        addresses.resolve(url)
    except addresses.UnsafeURL as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    return url


def validate_events(events: list) -> list[str]:
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValidationError({"events": [_("A list of event names.")]})
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown events: {', '.join(unknown)}. Known: {', '.join(EVENTS)}."]}
        )
    return list(dict.fromkeys(events))


@transaction.atomic
def subscription_create(
    *, api_key: APIAccessKey, url: str, events: list | None = None, contact_email: str = ""
) -> WebhookSubscription:
    """A new subscription, told of changes from now on; its `secret` is returned this once."""
    position = start_position()
    sub = WebhookSubscription(
        api_key=api_key,
        url=validate_url(url),
        events=validate_events(events or []),
        contact_email=contact_email,
        secret=secrets.token_hex(32),
        cursor_txid=position[0],
        cursor_event_id=position[1],
    )
    sub.full_clean(exclude=["url", "events"])
    sub.save()
    return sub


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, **fields) -> WebhookSubscription:
    if "url" in fields:
        fields["url"] = validate_url(fields["url"])
    if "events" in fields:
        fields["events"] = validate_events(fields["events"])
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.full_clean(exclude=["url", "events"])
    subscription.save()
    return subscription


@transaction.atomic
def subscription_pause(*, subscription: WebhookSubscription) -> WebhookSubscription:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        status=WebhookSubscription.Status.PAUSED, paused_at=timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


@transaction.atomic
def subscription_resume(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Active again: its pending deliveries get a new retry window and go out now, then the changes
    made while it was paused (its cursor stayed where it was)."""
    now = timezone.now()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        status=WebhookSubscription.Status.ACTIVE, paused_at=None, failing_since=None
    )
    subscription.deliveries.filter(status=WebhookDelivery.Status.PENDING).update(
        next_attempt_at=now, give_up_at=now + datetime.timedelta(hours=settings.PCP_WEBHOOK_RETRY_HOURS)
    )
    outbox.enqueue(SEND_TASK, subscription.pk)
    subscription.refresh_from_db()
    return subscription


def _copy(delivery: WebhookDelivery, now: datetime.datetime) -> WebhookDelivery:
    return WebhookDelivery(
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event=delivery.event,
        resource=delivery.resource,
        object_id=delivery.object_id,
        version=delivery.version,
        payload=delivery.payload,
        state=delivery.state,
        created_at=now,
        next_attempt_at=now,
        give_up_at=now + datetime.timedelta(hours=settings.PCP_WEBHOOK_RETRY_HOURS),
        replay_of=delivery,
    )


@transaction.atomic
def deliveries_replay(*, deliveries) -> list[WebhookDelivery]:
    """Send these deliveries again (same event ids and payloads), after anything already pending."""
    now = timezone.now()
    originals = list(deliveries.order_by("id"))
    copies = WebhookDelivery.objects.bulk_create([_copy(d, now) for d in originals])
    for sub_id in sorted({d.subscription_id for d in originals}):
        outbox.enqueue(SEND_TASK, sub_id)
    return copies
