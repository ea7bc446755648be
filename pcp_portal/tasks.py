"""Celery adapters for the platform: the outbox relay, and pruning the change feed and idempotency keys."""

from __future__ import annotations

from celery import shared_task

from pcp_portal import changefeed, idempotency, outbox
from pcp_portal.webhooks import tasks as webhook_tasks  # noqa: F401 - registers the webhook tasks


@shared_task(name="pcp_portal.tasks.relay_outbox", acks_late=True, ignore_result=True)
def relay_outbox() -> int:
    total = 0
    while (taken := outbox.relay()) == outbox.RELAY_BATCH:
        total += taken
    return total + taken


@shared_task(name="pcp_portal.tasks.prune_outbox", acks_late=True, ignore_result=True)
def prune_outbox() -> int:
    return changefeed.prune()


@shared_task(name="pcp_portal.tasks.prune_idempotency_keys", acks_late=True, ignore_result=True)
def prune_idempotency_keys() -> int:
    return idempotency.prune_expired_idempotency_keys()
