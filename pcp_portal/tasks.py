"""Celery adapters for the platform: the outbox relay and the change feed's pruning."""

from __future__ import annotations

from celery import shared_task

from pcp_portal import changefeed, outbox


@shared_task(name="pcp_portal.tasks.relay_outbox", acks_late=True, ignore_result=True)
def relay_outbox() -> int:
    total = 0
    while (taken := outbox.relay()) == outbox.RELAY_BATCH:
        total += taken
    return total + taken


@shared_task(name="pcp_portal.tasks.prune_outbox", acks_late=True, ignore_result=True)
def prune_outbox() -> int:
    return changefeed.prune()
