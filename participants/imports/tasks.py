"""Celery adapters of the imports: load the batch by id, call participants.imports.

Queued only through the transactional outbox (plan.queue_preview, apply.queue_apply). acks_late:
a worker killed during an apply has written nothing (one transaction); the task delivered again,
or queued again by resume_stalled, applies it once.
"""

from __future__ import annotations

from celery import shared_task

from participants.imports.apply import apply_queued, resume_stalled
from participants.imports.plan import preview_queued


@shared_task(name="participants.imports.tasks.preview_batch", acks_late=True, ignore_result=True)
def preview_batch(batch_id: int) -> None:
    preview_queued(batch_id)


@shared_task(name="participants.imports.tasks.apply_batch", acks_late=True, ignore_result=True)
def apply_batch(batch_id: int) -> None:
    apply_queued(batch_id)


@shared_task(name="participants.imports.tasks.resume_stalled_imports", ignore_result=True)
def resume_stalled_imports() -> None:
    resume_stalled()
