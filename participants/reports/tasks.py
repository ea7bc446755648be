"""Celery adapters of the report exports (queue `exports`): load the job by id, call jobs.

Queued only through the transactional outbox (jobs.export_start). acks_late: a task delivered
again after a worker restart finds its job claimed and does nothing, unless that job has been
silent past PCP_EXPORT_STALL_SECONDS (its worker died), when it writes the file afresh.
"""

from __future__ import annotations

from celery import shared_task

from participants.reports import jobs, snapshot


@shared_task(name="participants.reports.tasks.run_export", acks_late=True, ignore_result=True)
def run_export(job_id: int) -> None:
    jobs.export_run(job_id)


@shared_task(name="participants.reports.tasks.remove_expired_exports", ignore_result=True)
def remove_expired_exports() -> int:
    return jobs.remove_expired()


@shared_task(name="participants.reports.tasks.refresh_figures_snapshot", ignore_result=True)
def refresh_figures_snapshot() -> bool:
    """Queued through the outbox after a change (deduplicated), and run by beat as a safety net."""
    return snapshot.refresh()
