"""A large file is read and planned by a worker; the page follows its progress and the list its state."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from participants import services
from participants.imports import plan, progress
from participants.imports.apply import APPLY_TASK, ImportRefused, apply_import, queue_apply, resume_stalled
from participants.imports.plan import PREVIEW_TASK, preview_import, queue_preview
from participants.imports.tasks import apply_batch, preview_batch
from participants.models import Enrollment, ImportBatch, ImportProgress, ImportRow, Official
from pcp_portal.models import OutboxEvent
from tests.factories import CourseFactory

HEADER = "Family name,Given name,Ministry,E-mail,Phone\n"


def rows(count: int, start: int = 0) -> bytes:
    return (
        HEADER
        + "".join(f"Sok,Dara{n},MISTI,d{n}@x.kh,012 345 {n:03d}\n" for n in range(start, start + count))
    ).encode()


def upload(client, data: bytes, kind: str = "officials", name: str = "big.csv", **extra):
    body = SimpleUploadedFile(name, data)
    return client.post(reverse("import_upload", args=[kind]), {"file": body, **extra})


def test_an_upload_is_queued_for_a_worker_and_the_request_reads_nothing(ministries, staff_client):
    response = upload(staff_client, rows(40))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("import_batch", args=[batch.pk])
    assert batch.status == ImportBatch.Status.QUEUED and batch.rows == [] and bytes(batch.upload) == rows(40)
    assert OutboxEvent.objects.get(name=PREVIEW_TASK).payload == {"args": [batch.pk]}
    page = staff_client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    assert 'id="import-progress"' in page and "js/imports.js" in page
    assert "The file is being read and checked in the background." in page
    state = staff_client.get(reverse("import_progress", args=[batch.pk])).json()
    assert state["status"] == "queued" and state["working"] is True and state["status_label"] == "Queued"

    preview_batch(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.counts["create"] == 40
    assert bytes(batch.upload) == b""  # the file is not kept once planned
    assert ImportProgress.objects.get(batch=batch).done == 40
    state = staff_client.get(reverse("import_progress", args=[batch.pk])).json()
    assert state["working"] is False and state["status_label"] == "Ready to confirm"
    assert Official.objects.count() == 0


def test_even_a_three_row_upload_is_previewed_by_the_worker_not_the_request(ministries, staff_client):
    """Guards against a size under which the request would read and plan the file itself."""
    upload(staff_client, rows(3))
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.QUEUED and not ImportRow.objects.filter(batch=batch).exists()
    assert OutboxEvent.objects.get(name=PREVIEW_TASK).payload == {"args": [batch.pk]}
    preview_batch(batch.pk)
    assert ImportBatch.objects.get().status == ImportBatch.Status.PREVIEWED


def test_a_file_refused_by_its_type_is_refused_in_the_request_not_queued(ministries, staff_client):
    response = upload(staff_client, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, name="photo.csv")
    assert response.status_code == 400 and "PNG image" in response.content.decode()
    assert not OutboxEvent.objects.filter(name=PREVIEW_TASK).exists()


def test_a_file_refused_by_the_worker_is_failed_with_its_reason_in_the_list(ministries, staff, staff_client):
    batch = queue_preview(
        kind="officials", filename="wrong.csv", data=b"Colour,Animal\nred,cat\n", user=staff
    )
    preview_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "The columns are not the ones this import needs" in batch.message
    listing = staff_client.get(reverse("import_home")).content.decode()
    assert (
        "Failed, nothing changed" in listing and "The columns are not the ones this import needs" in listing
    )
    state = staff_client.get(reverse("import_progress", args=[batch.pk])).json()
    assert state["status"] == "failed" and "The columns are not" in state["message"]


def test_a_preview_delivered_twice_plans_once_and_a_discarded_batch_stays_discarded(ministries, staff):
    batch = queue_preview(kind="officials", filename="big.csv", data=rows(5), user=staff)
    preview_batch(batch.pk)
    preview_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and len(batch.rows) == 5
    other = queue_preview(kind="officials", filename="big.csv", data=rows(5), user=staff)
    ImportBatch.objects.filter(pk=other.pk).update(status=ImportBatch.Status.DISCARDED)
    preview_batch(other.pk)
    assert ImportBatch.objects.get(pk=other.pk).status == ImportBatch.Status.DISCARDED


def test_the_list_shows_each_state_in_words_in_english_and_khmer(ministries, staff, staff_client):
    queued = queue_preview(kind="officials", filename="queued.csv", data=rows(2), user=staff)
    previewing = queue_preview(kind="officials", filename="previewing.csv", data=rows(2), user=staff)
    ImportBatch.objects.filter(pk=previewing.pk).update(status=ImportBatch.Status.PREVIEWING)
    ready = preview_import(kind="officials", filename="ready.csv", data=rows(2), user=staff)
    applying = queue_apply(
        batch=preview_import(kind="officials", filename="a.csv", data=rows(2, 10), user=staff), user=staff
    )
    done = apply_import(
        batch=preview_import(kind="officials", filename="d.csv", data=rows(2, 20), user=staff), user=staff
    )
    assert {b.status for b in (queued, ready, applying, done)} == {
        "queued",
        "previewed",
        "applying",
        "applied",
    }
    page = staff_client.get(reverse("import_home")).content.decode()
    for label in ("Queued", "Previewing", "Ready to confirm", "Being applied in the background", "Applied"):
        assert f">{label}</span>" in page
    staff_client.cookies["django_language"] = "km"
    page_km = staff_client.get(reverse("import_home")).content.decode()
    for label in ("Queued", "Previewing", "Ready to confirm"):
        assert f">{label}</span>" not in page_km


def test_the_progress_gives_rows_done_of_total_and_an_estimate(ministries, staff):
    batch = queue_preview(kind="officials", filename="big.csv", data=rows(2), user=staff)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.PREVIEWING)
    ImportProgress.objects.filter(batch=batch).update(
        phase=ImportProgress.Phase.PLANNING,
        done=1000,
        total=4000,
        started_at=timezone.now() - datetime.timedelta(seconds=20),
    )
    batch.refresh_from_db()
    state = progress.snapshot(batch)
    assert state["percent"] == 25 and state["rows_label"] == "1,000 of 4,000 rows"
    assert state["phase_label"] == "Checking the rows"
    assert state["estimate"] == "about 1 minute left"  # 20 s for 1,000 rows, 3,000 to go


def test_a_stalled_import_no_worker_holds_is_queued_again_and_applied_once(ministries, staff, settings):
    settings.PCP_IMPORT_STALL_SECONDS = 60
    batch = queue_apply(
        batch=preview_import(kind="officials", filename="a.csv", data=rows(4), user=staff), user=staff
    )
    assert resume_stalled() == 0  # just queued: not stalled
    ImportProgress.objects.filter(batch=batch).update(
        updated_at=timezone.now() - datetime.timedelta(seconds=61)
    )
    assert resume_stalled() == 1
    assert resume_stalled() == 0  # queued again once, not at every beat
    assert OutboxEvent.objects.filter(name=APPLY_TASK, payload={"args": [batch.pk]}).count() == 2
    apply_batch(batch.pk)
    apply_batch(batch.pk)
    assert Official.objects.count() == 4 and Official.history.count() == 4


def test_a_bulk_apply_writes_history_rows_with_the_user_and_the_enrolment_snapshot(ministries, staff):
    course = CourseFactory()
    data = (
        "Family name,Given name,Ministry,E-mail,Position\n"
        + "".join(f"Keo,Mony{n},MISTI,m{n}@x.kh,Director\n" for n in range(2500))
    ).encode()
    batch = preview_import(kind="enrolments", filename="e.csv", data=data, user=staff, course=course)
    batch = apply_import(batch=batch, user=staff)
    assert batch.counts["applied"] == {"created": 2500, "updated": 0, "skipped": 0}
    assert Official.objects.count() == 2500 and Enrollment.objects.filter(course=course).count() == 2500
    assert set(Official.history.values_list("history_user", "history_type").distinct()) == {(staff.pk, "+")}
    assert set(Enrollment.history.values_list("history_user", "history_type").distinct()) == {(staff.pk, "+")}
    enrolment = Enrollment.objects.select_related("official").first()
    misti = ministries["misti"]
    # The name of the ministry on the enrolment's date, as enrollment_create keeps it.
    assert enrolment.ministry_acronym == (misti.name_on(enrolment.enrolled_on) or misti).acronym
    assert enrolment.ministry == misti and enrolment.position == "Director"


def test_a_bulk_update_refuses_a_stale_row_and_writes_nothing(ministries, staff):
    apply_import(
        batch=preview_import(kind="officials", filename="a.csv", data=rows(3), user=staff), user=staff
    )
    changed = rows(3).replace(b"MISTI", b"MEF")
    batch = preview_import(kind="officials", filename="b.csv", data=changed, user=staff)
    assert batch.counts["update"] == 3
    Official.objects.filter(email="d1@x.kh").update(ministry=ministries["moc"])
    before = Official.history.count()
    with pytest.raises(ImportRefused, match=r"Line 3: .* was changed since the preview"):
        apply_import(batch=batch, user=staff)
    assert Official.objects.filter(ministry=ministries["mef"]).count() == 0
    assert Official.history.count() == before


def test_a_preview_started_again_after_its_worker_died_half_way_plans_each_row_once(
    ministries, staff, monkeypatch
):
    batch = queue_preview(kind="officials", filename="big.csv", data=rows(50), user=staff)
    monkeypatch.setattr(plan, "PLAN_BATCH", 10)
    written = 0

    def dies_after_two_batches(chunk_rows, *args, **kwargs):
        nonlocal written
        if written == 2:
            raise SystemExit("the worker is killed")
        written += 1
        return real_bulk_create(chunk_rows, *args, **kwargs)

    real_bulk_create = ImportRow.objects.bulk_create
    monkeypatch.setattr(ImportRow.objects, "bulk_create", dies_after_two_batches)
    with pytest.raises(SystemExit):
        preview_batch(batch.pk)
    assert ImportRow.objects.filter(batch=batch).count() == 20
    monkeypatch.setattr(ImportRow.objects, "bulk_create", real_bulk_create)

    preview_batch(batch.pk)  # redelivered (acks_late), or queued again by resume_stalled
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.counts["create"] == 50
    assert [row["line"] for row in batch.rows] == list(range(2, 52))


@pytest.mark.parametrize("count", [100, 1000])
def test_the_apply_reads_and_writes_the_plan_a_batch_at_a_time(
    count, ministries, staff, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(plan, "PLAN_BATCH", 50)
    monkeypatch.setattr(services, "BULK_BATCH_SIZE", 50)
    monkeypatch.setattr(progress, "REPORT_EVERY", 100)
    batch = queue_preview(kind="officials", filename="big.csv", data=rows(count), user=staff)
    preview_batch(batch.pk)
    batch = queue_apply(batch=ImportBatch.objects.get(pk=batch.pk), user=staff)
    batches = count // 50
    # Per batch of the plan: its SELECT, the officials' INSERT and their history rows' INSERT in a
    # savepoint (on PostgreSQL: the officials' ids taken from the sequence, then a COPY for each), a
    # progress report every other batch (PostgreSQL, from a connection of its own); the rest does
    # not depend on the size of the file.
    with django_assert_max_num_queries(20 + 6 * batches):
        apply_batch(batch.pk)
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLIED
    assert Official.objects.count() == count
