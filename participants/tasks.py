"""Celery adapters for reminders: load by id, call participants.reminders, nothing else.

All tasks use acks_late (settings: CELERY_TASK_ACKS_LATE): a message is acknowledged only
after the task ran, so a killed worker's task is delivered again, and the ledger's claim makes
that second delivery harmless. Retries carry a countdown no longer than
REMINDER_RETRY_BACKOFF_MAX_SECONDS, far below Redis's visibility timeout.
"""

from __future__ import annotations

from celery import shared_task

from participants import reminders


@shared_task(name="participants.tasks.dispatch_reminders", acks_late=True, ignore_result=True)
def dispatch_reminders() -> dict:
    result = reminders.dispatch()
    return {"sessions": result.sessions, "created": result.created, "queued": result.queued}


@shared_task(
    bind=True, name="participants.tasks.send_delivery", acks_late=True, ignore_result=True, max_retries=None
)
def send_delivery(self, delivery_id: int) -> str:
    # The number of tries is bounded by the ledger row (REMINDER_MAX_ATTEMPTS), not by Celery's
    # count, so a task delivered twice cannot earn extra tries.
    result = reminders.deliver(delivery_id)
    if result.outcome == reminders.Outcome.RETRY:
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(name="participants.tasks.notify_session_change", acks_late=True, ignore_result=True)
def notify_session_change(session_id: int) -> int:
    return reminders.notify_change(session_id=session_id)
