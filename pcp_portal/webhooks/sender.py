"""Posting deliveries: signed, time-limited, size-capped, in order per object, retried with back-off.

One sender per subscription at a time (a lease claimed by a conditional UPDATE on
`sending_until`), so two workers never send the same delivery at once or two changes of one object
out of order. A delivery is sent only when no earlier delivery of the same object is still
pending. A failure stops the run (the receiver is one endpoint: what failed for one delivery
would fail for the next) and sets the delivery's next attempt after an exponential back-off; the
caller schedules the next run for then. A delivery still failing after PCP_WEBHOOK_RETRY_HOURS is
given up; a subscription failing for PCP_WEBHOOK_PAUSE_AFTER_HOURS is paused and its owner told.
A 410 answer means the receiver is gone: the subscription is marked so and nothing more is sent.

At least once: a worker dying after the receiver answered but before the result was saved sends
the delivery again, with the same event id, which the receiver uses to drop the repeat.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from pcp_portal.models import WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks import addresses

logger = logging.getLogger(__name__)

USER_AGENT = "PCP-Portal-Webhooks/1"
SIGNATURE_HEADER = "PCP-Webhook-Signature"
TIMESTAMP_HEADER = "PCP-Webhook-Timestamp"
EVENT_ID_HEADER = "PCP-Webhook-Id"
EVENT_HEADER = "PCP-Webhook-Event"


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of `<timestamp>.<body>` with the subscription's secret, as `v1=<hex>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def post(url: str, secret: str, payload: dict, *, event: str, event_id: str) -> Outcome:
    """POST the payload to `url`: the answer's status and up to PCP_WEBHOOK_MAX_RESPONSE_BYTES of it."""
    body = body_of(payload)
    timestamp = str(int(time.time()))
    try:
        target = addresses.resolve(url)
    except addresses.UnsafeURL as exc:
        return Outcome(False, error=f"refused: {exc}")
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host_header = f"[{target.host}]" + ("" if target.port == default_port else f":{target.port}")
    headers = {
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    total = settings.PCP_WEBHOOK_TIMEOUT_SECONDS
    timeout = urllib3.Timeout(connect=settings.PCP_WEBHOOK_CONNECT_TIMEOUT_SECONDS, total=total)
    deadline = time.monotonic() + total
    # Connect to the address that was checked, not to the name (which could resolve elsewhere now);
    # TLS still checks the certificate against the name.
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            timeout=timeout,
            retries=False,
            maxsize=1,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    response = None
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        cap = settings.PCP_WEBHOOK_MAX_RESPONSE_BYTES
        received = bytearray()
        while len(received) < cap:
            if time.monotonic() > deadline:
                break  # a receiver dripping its answer: the status is what counts
            chunk = response.read1(min(8192, cap - len(received)))
            if not chunk:
                break
            received += chunk
        excerpt = bytes(received[:500]).decode("utf-8", "replace")
        return Outcome(200 <= response.status < 300, response.status, excerpt)
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        return Outcome(False, error=f"{exc.__class__.__name__}: {reason}"[:500])
    except OSError as exc:
        return Outcome(False, error=f"{exc.__class__.__name__}: {exc}"[:500])
    finally:
        if response is not None:
            response.close()  # never read the rest of an answer past the cap
        pool.close()


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failures: doubling, capped."""
    base = settings.PCP_WEBHOOK_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.PCP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS)


def _lease_seconds() -> float:
    # Longer than the slowest request (a hung receiver is cut at PCP_WEBHOOK_TIMEOUT_SECONDS), with
    # room for the database; renewed when half of it is left.
    return settings.PCP_WEBHOOK_TIMEOUT_SECONDS * 3 + 30


def _claim(subscription_id: int, now: datetime.datetime) -> bool:
    lease = now + datetime.timedelta(seconds=_lease_seconds())
    return bool(
        WebhookSubscription.objects.filter(pk=subscription_id, status=WebhookSubscription.Status.ACTIVE)
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .update(sending_until=lease)
    )


def send_due(subscription_id: int, *, batch: int = 200) -> float | None:
    """Send the subscription's due deliveries in order; seconds until the next one is due (None: none)."""
    if not _claim(subscription_id, timezone.now()):
        return None
    try:
        return _send_claimed(subscription_id, batch)
    finally:
        WebhookSubscription.objects.filter(pk=subscription_id).update(sending_until=None)


RECORD_EVERY = 50
RECORDED_FIELDS = [
    "attempts",
    "last_attempt_at",
    "status_code",
    "response_excerpt",
    "error",
    "status",
    "delivered_at",
    "next_attempt_at",
]


def _save(unsaved: list[WebhookDelivery]) -> None:
    """Results are saved in groups (one commit per group, not per request): a worker dying in
    between sends those deliveries again, with their event ids, which at-least-once allows."""
    if unsaved:
        WebhookDelivery.objects.bulk_update(unsaved, RECORDED_FIELDS)
        unsaved.clear()


def _send_claimed(subscription_id: int, batch: int) -> float | None:
    unsaved: list[WebhookDelivery] = []
    try:
        return _send_loop(subscription_id, batch, unsaved)
    finally:
        _save(unsaved)


def _send_loop(subscription_id: int, batch: int, unsaved: list[WebhookDelivery]) -> float | None:
    renew_at = time.monotonic() + _lease_seconds() / 2
    while True:
        sub = WebhookSubscription.objects.get(pk=subscription_id)
        if sub.status != WebhookSubscription.Status.ACTIVE:
            return None
        _save(unsaved)  # before reading the pending ones again
        pending = list(sub.deliveries.filter(status=WebhookDelivery.Status.PENDING).order_by("id")[:batch])
        if not pending:
            return None
        blocked: set[tuple[str, int]] = set()
        next_due: datetime.datetime | None = None
        sent = 0
        for delivery in pending:
            key = (delivery.resource, delivery.object_id)
            if key in blocked:
                continue
            now = timezone.now()
            due = max(delivery.next_attempt_at, delivery.batch_until or delivery.next_attempt_at)
            if due > now:
                blocked.add(key)  # later changes of this object wait for this one
                next_due = due if next_due is None else min(next_due, due)
                continue
            if now >= delivery.give_up_at:
                _give_up(delivery, now)
                continue
            if time.monotonic() >= renew_at:
                _claim_again(sub.pk, now)
                renew_at = time.monotonic() + _lease_seconds() / 2
            outcome = post(
                sub.url, sub.secret, delivery.payload, event=delivery.event, event_id=str(delivery.event_id)
            )
            _record(delivery, outcome)
            unsaved.append(delivery)
            if len(unsaved) >= RECORD_EVERY or not outcome.ok:
                _save(unsaved)
            if outcome.gone:
                _mark_gone(sub)
                return None
            if not outcome.ok:
                _note_failure(sub, timezone.now())
                return max((delivery.next_attempt_at - timezone.now()).total_seconds(), 0.0)
            sent += 1
            if sub.failing_since is not None:
                WebhookSubscription.objects.filter(pk=sub.pk).update(failing_since=None)
                sub.failing_since = None
        if sent == 0 or len(pending) < batch:
            if sent and len(pending) < batch:
                continue  # new rows may have arrived while sending; look once more
            return None if next_due is None else max((next_due - timezone.now()).total_seconds(), 0.0)


def _claim_again(subscription_id: int, now: datetime.datetime) -> None:
    lease = now + datetime.timedelta(seconds=_lease_seconds())
    WebhookSubscription.objects.filter(pk=subscription_id).update(sending_until=lease)


def _record(delivery: WebhookDelivery, outcome: Outcome) -> None:
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.status_code = outcome.status_code
    delivery.response_excerpt = outcome.excerpt[:500]
    delivery.error = outcome.error[:500]
    if outcome.ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
    elif outcome.gone:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.next_attempt_at = now + datetime.timedelta(seconds=backoff(delivery.attempts))
        if delivery.next_attempt_at >= delivery.give_up_at:
            delivery.next_attempt_at = delivery.give_up_at  # one last try when the window closes
    logger.info(
        "webhook %s %s #%s → subscription %s: %s",
        delivery.event,
        delivery.resource,
        delivery.object_id,
        delivery.subscription_id,
        outcome.status_code or outcome.error,
    )


def _give_up(delivery: WebhookDelivery, now: datetime.datetime) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED,
        error=(delivery.error or "no successful answer")[:440] + " (given up after the retry window)",
    )
    logger.warning(
        "webhook delivery %s (%s) given up after %s attempts", delivery.pk, delivery.event, delivery.attempts
    )


def _mark_gone(sub: WebhookSubscription) -> None:
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        status=WebhookSubscription.Status.GONE, paused_at=timezone.now()
    )
    logger.warning("webhook subscription %s: the receiver answered 410 Gone; subscription removed", sub.pk)


def _note_failure(sub: WebhookSubscription, now: datetime.datetime) -> None:
    if sub.failing_since is None:
        WebhookSubscription.objects.filter(pk=sub.pk, failing_since__isnull=True).update(failing_since=now)
        return
    if now - sub.failing_since < datetime.timedelta(hours=settings.PCP_WEBHOOK_PAUSE_AFTER_HOURS):
        return
    paused = WebhookSubscription.objects.filter(pk=sub.pk, status=WebhookSubscription.Status.ACTIVE).update(
        status=WebhookSubscription.Status.PAUSED, paused_at=now
    )
    if paused:
        notify_paused(sub)


def notify_paused(sub: WebhookSubscription) -> None:
    """Log it, and e-mail the subscription's contact address (if given) and the site's ADMINS."""
    message = (
        f"The webhook subscription {sub.pk} ({sub.url}) of API key {sub.api_key_id} has failed since "
        f"{sub.failing_since:%Y-%m-%d %H:%M} UTC and is paused. Its pending deliveries are kept; resume it "
        f"through the API (POST /api/v1/webhooks/subscriptions/{sub.pk}/resume/) once the receiver answers."
    )
    logger.warning("webhook subscription %s paused: failing since %s", sub.pk, sub.failing_since)
    subject = "PCP Portal: webhook subscription paused"
    try:
        if sub.contact_email:
            send_mail(subject, message, None, [sub.contact_email])
        mail_admins(subject, message)
    except Exception:  # the pause stands whether or not the mail server answers
        logger.exception("webhook subscription %s: could not send the pause notice", sub.pk)
