"""A large import is applied by a worker through the outbox, once, whatever is confirmed or redelivered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from participants.imports.apply import APPLY_TASK, ImportRefused, queue_apply
from participants.imports.tasks import apply_batch
from participants.models import ImportBatch, Official
from pcp_portal.models import OutboxEvent

HEADER = "Family name,Given name,Ministry,E-mail\n"


def rows(count: int) -> bytes:
    return (HEADER + "".join(f"Sok,Dara{n},MISTI,d{n}@x.kh\n" for n in range(count))).encode()


def test_confirming_an_import_queues_it_and_the_request_writes_nothing(ministries, preview, staff_client):
    """Guards against the apply running inside the web request (5,000 rows timed out), whatever
    the size: two rows are queued as 5,000 are."""
    batch = preview("big.csv", data=rows(12))
    response = staff_client.post(reverse("import_confirm", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLYING
    assert Official.objects.count() == 0
    event = OutboxEvent.objects.get(name=APPLY_TASK)
    assert event.payload == {"args": [batch.pk]}
    page = staff_client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    assert "12 rows are being applied in the background" in page and 'http-equiv="refresh"' in page
    # A second confirmation (a double click, a reload) queues nothing more.
    staff_client.post(reverse("import_confirm", args=[batch.pk]))
    assert OutboxEvent.objects.filter(name=APPLY_TASK).count() == 1


def test_the_task_applies_once_even_when_delivered_twice(ministries, preview, staff):
    batch = queue_apply(batch=preview("big.csv", data=rows(5)), user=staff)
    apply_batch(batch.pk)
    apply_batch(batch.pk)  # redelivered (acks_late after a worker restart): nothing more
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.applied_by == staff
    assert batch.counts["applied"] == {"created": 5, "updated": 0, "skipped": 0}
    assert Official.objects.count() == 5
    assert Official.history.count() == 5


def test_the_decisions_made_at_confirmation_are_what_the_worker_applies(ministries, preview, staff):
    from participants.services import official_create

    existing = official_create(family_name="Sok", given_name="Dara0", ministry=ministries["misti"])
    batch = preview("big.csv", data=(HEADER + "Sok,Dara0,MISTI,\nKeo,Mony,MISTI,k@x.kh\n").encode())
    assert batch.rows[0]["action"] == "decide"
    with pytest.raises(ImportRefused, match="Choose who is meant on lines 2"):
        queue_apply(batch=batch, user=staff)
    queue_apply(batch=batch, user=staff, decisions={0: str(existing.pk)})
    apply_batch(batch.pk)
    assert Official.objects.count() == 2


def test_a_stale_plan_fails_in_the_worker_with_the_reason_and_writes_nothing(ministries, preview, staff):
    from participants.services import official_create

    official = official_create(
        family_name="Sok", given_name="Dara", ministry=ministries["misti"], email="d@x.kh"
    )
    batch = preview(
        "stale.csv", data=(HEADER + "Keo,Mony,MISTI,k@x.kh\n").encode() + b"Sok,Dara,MEF,d@x.kh\n"
    )
    queue_apply(batch=batch, user=staff)
    Official.objects.filter(pk=official.pk).update(ministry=ministries["moc"])
    apply_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED and "changed since the preview" in batch.message
    assert not Official.objects.filter(email="k@x.kh").exists()
