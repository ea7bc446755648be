"""Helpers for the import tests: the files under files/, and a preview made as a staff member would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from participants.imports.plan import preview_import
from tests.reminders.conftest import Worker, celery_broker  # noqa: F401 - a fixture, shared

FILES = Path(__file__).resolve().parent / "files"


def file_bytes(name: str) -> bytes:
    return (FILES / name).read_bytes()


def run_import_tasks() -> int:
    """Do what the imports' worker would: run the import tasks waiting in the outbox, oldest first
    (the pages only queue them), marking each handed over. Returns how many ran. For tests whose
    database transaction never commits, so the outbox's hand-over after the commit never happens."""
    from django.utils import timezone

    from participants.imports import tasks
    from pcp_portal.models import OutboxEvent

    by_name = {task.name: task for task in (tasks.preview_batch, tasks.apply_batch)}
    ran = 0
    while True:
        event = (
            OutboxEvent.objects.filter(
                topic=OutboxEvent.Topic.TASK, relayed_at__isnull=True, name__in=list(by_name)
            )
            .order_by("pk")
            .first()
        )
        if event is None:
            return ran
        OutboxEvent.objects.filter(pk=event.pk).update(relayed_at=timezone.now())
        by_name[event.name](*event.payload["args"])
        ran += 1


@pytest.fixture
def eager_imports():
    """The live server's tasks run in its own thread right after each commit, as a worker would run
    them (for browser tests with no worker process of their own)."""
    import participants.imports.tasks  # noqa: F401 - registered, so the outbox runs them, not send_task
    from pcp_portal import outbox
    from pcp_portal.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old
    outbox._broker_paused_until = 0.0  # a refusal here must not pause the next test's hand-overs


@pytest.fixture
def preview(staff):
    def make(name: str, kind: str = "officials", data: bytes | None = None, **context):
        return preview_import(
            kind=kind, filename=name, data=file_bytes(name) if data is None else data, user=staff, **context
        )

    return make


@pytest.fixture
def ministries(public_record):
    from ministries.models import Ministry

    return {m.code: m for m in Ministry.objects.all()}


@pytest.fixture
def import_worker(transactional_db, postgres, redis_url, celery_broker, settings, tmp_path):  # noqa: F811
    """A real Celery worker process (started by the test with .start()) on Redis and the test database."""
    db = postgres.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pcp_portal.settings",
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "PCP_VAR_DIR": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    worker = Worker(env, tmp_path)
    yield worker
    worker.stop()


def officials_csv(count: int, start: int = 0) -> bytes:
    lines = ["Family name,Given name,Ministry,E-mail,Phone"]
    lines += [f"Keo,Mony{n},MISTI,mony{n}@example.org,012 {n:06d}" for n in range(start, start + count)]
    return "\n".join(lines).encode()
