"""Celery adapter of the imports: load the batch by id, call participants.imports.apply.

Queued only through the transactional outbox (apply.queue_apply). acks_late: a worker killed
during the apply has written nothing (one transaction), and the task delivered again applies it.
"""

from __future__ import annotations

from celery import shared_task

from participants.imports.apply import apply_queued


@shared_task(name="participants.imports.tasks.apply_batch", acks_late=True, ignore_result=True)
def apply_batch(batch_id: int) -> None:
    apply_queued(batch_id)
