"""A real worker on Redis killed (SIGKILL) in the middle of an apply, then started again: the import
ends applied, every row once. Needs PostgreSQL and Redis (skipped outside CI without them)."""

from __future__ import annotations

import time

import pytest

from participants.imports.apply import queue_apply, resume_stalled
from participants.imports.plan import preview_import
from participants.models import ImportBatch, ImportProgress, Official
from tests.reminders.conftest import wait_for

from .conftest import officials_csv

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

ROWS = 8_000


def test_a_worker_killed_during_the_apply_and_started_again_applies_every_row_once(
    import_worker, ministries, staff, settings
):
    batch = preview_import(kind="officials", filename="big.csv", data=officials_csv(ROWS), user=staff)
    assert batch.counts["create"] == ROWS
    queue_apply(batch=batch, user=staff)
    progress = ImportProgress.objects.filter(batch=batch)
    import_worker.start()

    # The apply reports its rows from a second connection while its transaction is open.
    wait_for(
        lambda: progress.filter(phase="applying", done__gt=0, done__lt=ROWS).exists(),
        timeout=120,
        what="the apply to be half-way",
    )
    import_worker.kill()
    # Killed before its commit: nothing of the file is written, the batch is still being applied.
    assert Official.objects.count() == 0
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLYING

    import_worker.start()
    # The task died unacknowledged; Redis would hand it out again only after its visibility timeout
    # (an hour). Beat's resume_stalled finds the batch silent and unlocked and queues it again.
    settings.PCP_IMPORT_STALL_SECONDS = 1
    time.sleep(1.5)
    assert resume_stalled() == 1
    wait_for(
        lambda: ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.APPLIED).exists(),
        timeout=180,
        what="the import applied by the new worker",
    )
    assert resume_stalled() == 0
    time.sleep(1)

    batch.refresh_from_db()
    assert batch.counts["applied"] == {"created": ROWS, "updated": 0, "skipped": 0}
    assert Official.objects.count() == ROWS
    assert Official.objects.values("email").distinct().count() == ROWS
    assert Official.history.count() == ROWS
    assert set(Official.history.values_list("history_user", flat=True).distinct()) == {staff.pk}
