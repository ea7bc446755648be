"""A large export with a real Celery worker on Redis and PostgreSQL: queued on the `exports` queue
through the outbox, written by the worker, downloaded; and the same in Chromium, from the report
page's link to the opened workbook."""

from __future__ import annotations

import io
import os

import pytest
from openpyxl import load_workbook

from participants.models import ExportJob
from tests.conftest import screenshot
from tests.reminders.conftest import Worker, celery_broker, wait_for  # noqa: F401 - a fixture, shared

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def export_worker(transactional_db, postgres, redis_url, celery_broker, settings, tmp_path):  # noqa: F811
    """A real worker process (started by the test with .start()) writing into the test's export folder."""
    db = postgres.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    settings.PCP_EXPORT_DIR = tmp_path / "exports"
    settings.PCP_EXPORT_BACKGROUND_ROWS = 5
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pcp_portal.settings",
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "PCP_VAR_DIR": str(tmp_path),
        "PCP_EXPORT_DIR": str(settings.PCP_EXPORT_DIR),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    worker = Worker(env, tmp_path)
    yield worker
    worker.stop()


def _state(job_id: int) -> str:
    return ExportJob.objects.get(pk=job_id).state


def test_a_worker_on_the_exports_queue_writes_the_file_and_the_owner_downloads_it(
    world,
    export_worker,
    celery_broker,  # noqa: F811
    staff_client,
):
    response = staff_client.get("/reports/export/attendance.xlsx")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.state == "queued"
    wait_for(lambda: celery_broker.llen("exports") == 1, timeout=10, what="the task on the exports queue")

    export_worker.start()
    wait_for(lambda: _state(job.pk) != "queued" and _state(job.pk) != "running", timeout=120, what="the job")
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.rows_total, job.reason) == ("done", 14, 14, "")

    download = staff_client.get(f"/reports/exports/{job.pk}/{job.file_name}")
    assert download["Content-Disposition"] == f'attachment; filename="{job.file_name}"'
    rows = list(
        load_workbook(io.BytesIO(b"".join(download.streaming_content))).active.iter_rows(values_only=True)
    )
    assert len(rows) == 1 + 14 and rows[0][0] == "Course number"


@pytest.mark.browser
def test_an_xlsx_export_started_from_the_report_shows_its_progress_and_downloads(
    world, export_worker, new_page, staff, tmp_path
):
    page = new_page(user=staff)
    page.goto(f"{page.base_url}/reports/courses/{world['a'].pk}/")
    page.click("a:has-text('Attendance rows (XLSX)')")
    page.wait_for_url("**/reports/exports/#export-*")
    job = ExportJob.objects.get()
    entry = page.locator(f"#export-{job.pk}")
    assert entry.locator("progress").is_visible()  # the worker is not running yet: waiting
    assert "Waiting for a worker" in entry.inner_text() and job.file_name in entry.inner_text()
    screenshot(page, "export-waiting")

    export_worker.start()
    # No reload by the test: the page's script follows the job and shows the link when it is ready.
    link = page.locator(f"#export-{job.pk} a.export-download")
    link.wait_for(timeout=120_000)
    screenshot(page, "export-ready")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == job.file_name
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 12  # course A's held rows: three officials × four sessions
