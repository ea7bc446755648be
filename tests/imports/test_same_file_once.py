"""One file's content is applied once, whichever of its uploads is confirmed, even at the same moment.

Two uploads of the same bytes are two batches: the batch's own row lock does not keep them apart.
On PostgreSQL the apply takes an advisory lock on the content's checksum, so the second waits for
the first's commit, then finds the file applied and writes nothing.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.urls import reverse

from participants.imports import apply as apply_module
from participants.imports.apply import ImportRefused, apply_import, queue_apply
from participants.imports.plan import preview_import
from participants.models import ImportBatch, Official
from tests.imports.conftest import officials_csv, run_import_tasks

ROWS = 30


def test_a_second_upload_of_an_applied_file_is_refused_with_a_link_to_the_earlier_import(
    ministries, staff, staff_client
):
    data = officials_csv(ROWS)
    first = preview_import(kind="officials", filename="list.csv", data=data, user=staff)
    apply_import(batch=first, user=staff)
    second = preview_import(kind="officials", filename="list again.csv", data=data, user=staff)

    response = staff_client.post(reverse("import_confirm", args=[second.pk]))

    assert response.status_code == 400
    page = response.content.decode()
    assert f"the same file was already imported (import #{first.pk}," in page
    assert f'href="{reverse("import_batch", args=[first.pk])}"' in page
    second.refresh_from_db()
    assert second.status == ImportBatch.Status.PREVIEWED
    assert Official.history.count() == ROWS


def test_a_second_upload_confirmed_while_the_first_is_queued_is_refused(ministries, staff, staff_client):
    data = officials_csv(ROWS)
    first = preview_import(kind="officials", filename="list.csv", data=data, user=staff)
    second = preview_import(kind="officials", filename="list.csv", data=data, user=staff)
    queue_apply(batch=first, user=staff)
    with pytest.raises(ImportRefused, match=rf"being imported already \(import #{first.pk}\)"):
        queue_apply(batch=second, user=staff)
    run_import_tasks()
    assert ImportBatch.objects.get(pk=first.pk).status == ImportBatch.Status.APPLIED
    assert ImportBatch.objects.get(pk=second.pk).status == ImportBatch.Status.PREVIEWED
    assert Official.objects.count() == ROWS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_uploads_of_one_file_applied_at_the_same_moment_write_it_once(
    postgres, ministries, staff, monkeypatch
):
    data = officials_csv(ROWS)
    first = preview_import(kind="officials", filename="list.csv", data=data, user=staff)
    second = preview_import(kind="officials", filename="list (1).csv", data=data, user=staff)
    # Both confirmed before either applies (the checks of queue_apply raced): both are claimed.
    ImportBatch.objects.filter(pk__in=[first.pk, second.pk]).update(status=ImportBatch.Status.APPLYING)

    # The first apply stops inside its transaction, after the content's lock, until released.
    inside, release = threading.Event(), threading.Event()
    real_write = apply_module._write

    def held_write(batch, *args, **kwargs):
        if batch.pk == first.pk:
            inside.set()
            assert release.wait(60)
        return real_write(batch, *args, **kwargs)

    monkeypatch.setattr(apply_module, "_write", held_write)
    outcome: dict[int, str] = {}

    def run(batch: ImportBatch) -> None:
        try:
            apply_import(batch=batch, user=staff, claimed=True)
            outcome[batch.pk] = "applied"
        except ImportRefused as refusal:
            outcome[batch.pk] = refusal.message
        finally:
            connections.close_all()

    one = threading.Thread(target=run, args=(first,))
    one.start()
    assert inside.wait(60)
    two = threading.Thread(target=run, args=(second,))
    two.start()
    # The second waits on the content's advisory lock (seen from this, a third connection).
    deadline = time.monotonic() + 60
    waiting = False
    while not waiting and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            waiting = cursor.fetchone()[0] == 1
        time.sleep(0.02)
    release.set()
    one.join(60)
    two.join(60)

    assert waiting, "the second apply never waited for the first"
    assert outcome[first.pk] == "applied"
    assert f"the same file was already imported (import #{first.pk}," in outcome[second.pk]
    statuses = dict(ImportBatch.objects.values_list("pk", "status"))
    assert statuses == {first.pk: ImportBatch.Status.APPLIED, second.pk: ImportBatch.Status.FAILED}
    assert Official.objects.count() == ROWS and Official.history.count() == ROWS
