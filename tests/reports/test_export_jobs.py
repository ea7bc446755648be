"""Exports too large for a request are written by a worker: queued once through the outbox, the
file written with every cell formula-safe, followed on the exports page, downloaded by its owner
(or an officer) only, removed after their time; a failure says why. PDFs past the page limit are
refused with links to the spreadsheets. Here the task runs in the test process (eager); with a
real worker on Redis: test_export_worker.py."""

from __future__ import annotations

import datetime
import io
import os
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from participants.models import ExportJob
from participants.reports import jobs
from participants.reports.tasks import remove_expired_exports, run_export
from pcp_portal.disk import ShortOfSpace
from pcp_portal.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.PCP_EXPORT_DIR = tmp_path / "exports"
    return settings.PCP_EXPORT_DIR


def _queue(client, url: str) -> ExportJob:
    response = client.get(url)
    assert response.status_code == 302, response.content[:500]
    job = ExportJob.objects.latest("id")
    assert response["Location"] == f"/reports/exports/#export-{job.pk}"
    return job


def _sheet(content: bytes) -> list[list]:
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(content)).active.iter_rows()]


def test_a_large_xlsx_is_queued_once_and_the_request_builds_nothing(world, staff_client, settings):
    settings.PCP_EXPORT_BACKGROUND_ROWS = 5
    job = _queue(staff_client, "/reports/export/attendance.xlsx?date_from=2021-01-01")
    assert (job.state, job.report, job.format, job.rows_total) == ("queued", "attendance", "xlsx", 14)
    assert job.filters == {"date_from": "2021-01-01"} and job.language == "en"
    assert job.file_name.startswith("pcp-attendance-from-20210101-") and job.file_name.endswith(".xlsx")
    event = OutboxEvent.objects.get(name=jobs.RUN_TASK)
    assert event.payload == {"args": [job.pk]}
    assert not settings.PCP_EXPORT_DIR.exists()  # nothing written in the request

    page = staff_client.get("/reports/exports/").content.decode()
    assert job.file_name in page and "is being written in the background" in page
    assert f'data-url="/reports/exports/{job.pk}/progress.json"' in page and "js/exports.js" in page
    assert "Waiting for a worker" in page

    # A double click or a reload while it is waiting queues nothing more.
    assert _queue(staff_client, "/reports/export/attendance.xlsx?date_from=2021-01-01") == job
    assert OutboxEvent.objects.filter(name=jobs.RUN_TASK).count() == 1


def test_a_small_xlsx_is_still_made_in_the_request(world, staff_client):
    response = staff_client.get("/reports/export/attendance.xlsx")
    assert response.status_code == 200 and not ExportJob.objects.exists()
    assert len(_sheet(b"".join(response.streaming_content))) == 1 + 14


def test_the_task_writes_the_file_and_its_owner_downloads_it(world, staff_client, settings):
    settings.PCP_EXPORT_BACKGROUND_ROWS = 5
    job = _queue(staff_client, "/reports/export/attendance.xlsx")
    run_export(job.pk)
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.rows_total, job.reason) == ("done", 14, 14, "")
    assert job.finished_at and job.expires_at > job.finished_at + datetime.timedelta(hours=23)
    assert job.size == (settings.PCP_EXPORT_DIR / job.path).stat().st_size > 0

    progress = staff_client.get(f"/reports/exports/{job.pk}/progress.json").json()
    assert progress["state"] == "done" and progress["percent"] == 100 and not progress["working"]
    page = staff_client.get("/reports/exports/").content.decode()
    assert f'href="/reports/exports/{job.pk}/{job.file_name}"' in page and "14 rows" in page

    response = staff_client.get(f"/reports/exports/{job.pk}/{job.file_name}")
    assert response["Content-Disposition"] == f'attachment; filename="{job.file_name}"'
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = _sheet(b"".join(response.streaming_content))
    assert rows[0][:3] == ["Course number", "Course", "Session"]
    assert len(rows) == 1 + 14
    assert [row[10] for row in rows[1:]].count("present") == 8
    assert isinstance(rows[1][3], datetime.datetime)  # a date cell, not text


def test_the_file_keeps_every_cell_safe_from_formulas(world, staff_client, settings):
    settings.PCP_EXPORT_BACKGROUND_ROWS = 0
    job = _queue(staff_client, f"/reports/export/course.xlsx?course={world['b'].pk}&name=course-b")
    run_export(job.pk)
    response = staff_client.get(f"/reports/exports/{job.pk}/{job.file_name}")
    assert 'filename="course-b.xlsx"' in response["Content-Disposition"]
    cells = [value for row in _sheet(b"".join(response.streaming_content)) for value in row]
    assert "'=HYPERLINK(1) <script>x</script>" in cells
    assert not any(isinstance(value, str) and value.startswith(("=", "+", "-", "@")) for value in cells)


def test_a_task_delivered_twice_writes_the_file_once(world, staff, settings):
    job = jobs.export_start(
        user=staff, report="attendance", fmt="csv", query={}, contact=False, file_name="all.csv"
    )
    run_export(job.pk)
    run_export(job.pk)  # redelivered after a worker restart: the job is done, nothing more
    assert len(list(settings.PCP_EXPORT_DIR.iterdir())) == 1
    job.refresh_from_db()
    content = (settings.PCP_EXPORT_DIR / job.path).read_bytes().decode("utf-8-sig")
    assert content.count("\n") == 1 + 14 and job.rows_done == 14


def test_only_the_owner_and_officers_follow_and_download_an_export(
    world, staff, staff_client, client, django_user_model, officer_client, partner_client, superuser_client
):
    from django.test import Client

    from tests.conftest import _make_user

    job = jobs.export_start(
        user=staff, report="sessions", fmt="xlsx", query={}, contact=False, file_name="sessions.xlsx"
    )
    run_export(job.pk)
    download = f"/reports/exports/{job.pk}/{job.file_name}"
    progress = f"/reports/exports/{job.pk}/progress.json"
    colleague = Client()
    colleague.force_login(_make_user(django_user_model, "dara.staff", "mih_staff"))
    assert colleague.get(download).status_code == 404  # another person's export does not exist for them
    assert colleague.get(progress).status_code == 404
    assert job.file_name not in colleague.get("/reports/exports/").content.decode()
    assert partner_client.get(download).status_code == 403
    assert client.get(download).status_code == 302
    assert staff_client.get(f"/reports/exports/{job.pk}/another-name.xlsx").status_code == 404
    for reader in (staff_client, officer_client, superuser_client):
        response = reader.get(download)
        assert response.status_code == 200 and b"".join(response.streaming_content)[:2] == b"PK"


def test_cleanup_removes_expired_files_and_rows_and_fails_jobs_whose_worker_died(world, staff, settings):
    def start(name):
        job = jobs.export_start(
            user=staff, report="programme", fmt="csv", query={"course": str(world[name].pk)}, contact=False,
            file_name=f"{name}.csv",
        )  # fmt: skip
        run_export(job.pk)
        job.refresh_from_db()
        return job

    old, fresh = start("a"), start("b")
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    dead = jobs.export_start(
        user=staff, report="ministries", fmt="xlsx", query={}, contact=False, file_name="m.xlsx"
    )
    ExportJob.objects.filter(pk=dead.pk).update(
        state="running",
        updated_at=timezone.now() - datetime.timedelta(seconds=settings.PCP_EXPORT_STALL_SECONDS + 1),
    )
    stray = settings.PCP_EXPORT_DIR / "999-left-by-a-killed-worker.xlsx.part"
    stray.write_bytes(b"partial")
    long_ago = timezone.now().timestamp() - settings.PCP_EXPORT_KEEP_HOURS * 3600 - 60
    os.utime(stray, (long_ago, long_ago))

    assert remove_expired_exports() == 1
    assert not ExportJob.objects.filter(pk=old.pk).exists()
    assert not (settings.PCP_EXPORT_DIR / old.path).exists() and not stray.exists()
    assert (settings.PCP_EXPORT_DIR / fresh.path).exists()
    dead.refresh_from_db()
    assert dead.state == "failed" and "stopped before it finished" in dead.reason


def test_a_failed_export_says_why(world, staff, staff_client, monkeypatch, settings):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs.exports, "xlsx_write", broken)
    monkeypatch.setattr(jobs.exports, "xlsx_write_rows_xml", broken)  # the writer on PostgreSQL
    job = jobs.export_start(
        user=staff, report="attendance", fmt="xlsx", query={}, contact=False, file_name="a.xlsx"
    )
    run_export(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "unexpected error (RuntimeError)" in job.reason
    assert not list(settings.PCP_EXPORT_DIR.iterdir())  # the partial file went too
    page = staff_client.get("/reports/exports/").content.decode()
    assert "The export stopped on an unexpected error (RuntimeError)" in page
    assert staff_client.get(f"/reports/exports/{job.pk}/progress.json").json()["reason"] == job.reason
    assert staff_client.get(f"/reports/exports/{job.pk}/{job.file_name}").status_code == 404


def test_a_full_disk_and_a_vanished_course_fail_with_their_reason(world, staff, monkeypatch):
    monkeypatch.setattr(
        jobs, "ensure_free_space", lambda path: (_ for _ in ()).throw(ShortOfSpace("Disk full."))
    )
    job = jobs.export_start(
        user=staff, report="attendance", fmt="xlsx", query={}, contact=False, file_name="a"
    )
    run_export(job.pk)
    job.refresh_from_db()
    assert (job.state, job.reason) == ("failed", "Disk full.")

    monkeypatch.undo()
    gone = jobs.export_start(
        user=staff, report="course", fmt="xlsx", query={"course": "999999"}, contact=False, file_name="c"
    )
    run_export(gone.pk)
    gone.refresh_from_db()
    assert gone.state == "failed" and "There is no course with this id." in gone.reason


def test_a_failure_is_told_in_the_language_the_export_was_asked_in(world, staff, staff_client):
    from django.utils import translation

    with translation.override("km"):
        job = jobs.export_start(
            user=staff, report="course", fmt="xlsx", query={"course": "999999"}, contact=False, file_name="c"
        )
    run_export(job.pk)
    job.refresh_from_db()
    assert job.language == "km" and re.search("[\u1780-\u17ff]", job.reason)


def test_a_pdf_past_the_page_limit_is_refused_with_links_to_the_spreadsheets(
    world, officer_client, settings, monkeypatch
):
    settings.PCP_PDF_MAX_PAGES = 1
    monkeypatch.setattr(jobs, "PDF_ROWS_PER_PAGE", 2)
    response = officer_client.get(f"/reports/export/sessions.pdf?course={world['a'].pk}")
    page = response.content.decode()
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "This selection has 4 rows, about 2 pages: a PDF may have at most 1 page." in page
    assert f'href="/reports/export/sessions.xlsx?course={world["a"].pk}"' in page
    assert f'href="/reports/export/sessions.csv?course={world["a"].pk}"' in page


def test_the_attendance_pdf_offers_the_spreadsheets_in_khmer_too(world, officer_client):
    officer_client.cookies["django_language"] = "km"
    response = officer_client.get(
        "/reports/export/attendance.pdf?date_from=2021-01-01", HTTP_ACCEPT_LANGUAGE="km"
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'href="/reports/export/attendance.xlsx?date_from=2021-01-01"' in page
    assert "too many for a PDF" not in page and re.search("[\u1780-\u17ff]", page)


def test_a_pdf_within_the_limit_is_still_made(world, officer_client):
    response = officer_client.get(f"/reports/export/sessions.pdf?course={world['a'].pk}")
    assert response.status_code == 200 and response.content[:5] == b"%PDF-"


def test_the_exports_page_lists_only_ones_own(world, staff, officer, officer_client):
    jobs.export_start(
        user=staff, report="sessions", fmt="xlsx", query={}, contact=False, file_name="theirs.xlsx"
    )
    page = officer_client.get(reverse("reports:exports")).content.decode()
    assert "theirs.xlsx" not in page and "No exports yet" in page
