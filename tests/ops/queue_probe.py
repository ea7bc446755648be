"""Probe tasks for tests/ops/test_queues.py, loaded into a test worker with `--include`.

Each is named into one queue's pattern (settings.CELERY_TASK_ROUTES routes by name), so the
test can show which worker, listening on which queues, ran it. They only append a line to a file.
"""

from celery import shared_task


def _record(task, path: str, kind: str) -> str:
    line = f"{kind} {task.request.delivery_info.get('routing_key')} {task.request.hostname}\n"
    with open(path, "a", encoding="utf-8") as log:
        log.write(line)
    return line


@shared_task(bind=True, name="pcp_portal.tasks.queue_probe")
def default_probe(self, path: str) -> str:
    return _record(self, path, "default")


@shared_task(bind=True, name="participants.imports.tasks.queue_probe")
def import_probe(self, path: str) -> str:
    return _record(self, path, "imports")


@shared_task(bind=True, name="participants.reports.tasks.queue_probe")
def export_probe(self, path: str) -> str:
    return _record(self, path, "exports")
