"""Celery adapters for webhooks (queue `webhooks`): they take ids and call dispatch or sender."""

from __future__ import annotations

import logging

from celery import shared_task

from pcp_portal.webhooks import dispatch, sender

logger = logging.getLogger(__name__)


@shared_task(name="pcp_portal.webhooks.tasks.dispatch", acks_late=True, ignore_result=True)
def dispatch_changes() -> int:
    """Beat, every few seconds: new changes become deliveries; subscriptions with due retries get a sender."""
    made = dispatch.dispatch_all()
    for pk in dispatch.subscriptions_due():
        send_deliveries.delay(pk)
    return made


@shared_task(name="pcp_portal.webhooks.tasks.send_deliveries", acks_late=True, ignore_result=True)
def send_deliveries(subscription_id: int) -> None:
    delay = sender.send_due(subscription_id)
    if delay is not None:
        # The next attempt (a back-off, or an attendance window closing); beat's dispatch is the
        # backstop if this message is lost.
        send_deliveries.apply_async(args=[subscription_id], countdown=delay)
