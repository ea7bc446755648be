"""Celery adapters for reminders: load by id, call participants.reminders, nothing else.

All tasks use acks_late (settings: CELERY_TASK_ACKS_LATE): a message is acknowledged only
after the task ran, so a killed worker's task is delivered again, and the ledger's claim makes
that second delivery harmless. No task retries itself with a countdown: a transient failure is
recorded on its row (`next_attempt_at`) and the dispatcher queues it again when that time has
come, so nothing waits in the broker where Redis's visibility timeout could deliver it twice.
"""

from __future__ import annotations

from collections import Counter

from celery import shared_task

from participants import reminders

# Celery's autodiscovery imports each app's tasks.py only: this registers the imports' and the
# report exports' tasks too.
from participants.imports import tasks as import_tasks  # noqa: F401
from participants.reports import tasks as export_tasks  # noqa: F401


@shared_task(name="participants.tasks.dispatch_reminders", acks_late=True, ignore_result=True)
def dispatch_reminders() -> dict:
    result = reminders.dispatch()
    return {"sessions": result.sessions, "created": result.created, "queued": result.queued}


@shared_task(name="participants.tasks.send_deliveries", acks_late=True, ignore_result=True)
def send_deliveries(delivery_ids: list[int]) -> dict:
    """One batch of ledger rows over one SMTP connection; returns how many ended each way."""
    results = reminders.deliver_batch(delivery_ids)
    return dict(Counter(result.outcome for result in results.values()))


@shared_task(name="participants.tasks.send_delivery", acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int) -> str:
    # Kept for messages queued by a release that sent one row per task: a batch of one.
    return reminders.deliver(delivery_id).outcome


@shared_task(name="participants.tasks.notify_session_change", acks_late=True, ignore_result=True)
def notify_session_change(session_id: int) -> int:
    return reminders.notify_change(session_id=session_id)
