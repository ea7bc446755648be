"""A 5,000-row workbook in real Chromium, with a real worker on Redis: the progress bar moves, the page
survives a reload and a log-out, the preview is confirmed and the apply ends done."""

from __future__ import annotations

import os
import signal
import time

import openpyxl
import pytest
from django.urls import reverse

from participants.models import ImportBatch, ImportProgress, Official
from tests.conftest import screenshot
from tests.imports.conftest import officials_csv

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROWS = 5000


def workbook(path, count: int) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Officials")
    sheet.append(["Family name", "Given name", "Ministry", "E-mail", "Phone"])
    for n in range(count):
        sheet.append(["Keo", f"Mony{n}", "MISTI", f"mony{n}@example.org", f"012 {n:06d}"])
    book.save(path)


BAR = "(document.querySelector('#import-progress progress') || {value: -1}).value"


def bar_value(page) -> int:
    return page.evaluate(
        "() => { const bar = document.querySelector('#import-progress progress');"
        " return bar && bar.hasAttribute('value') ? bar.value : -1; }"
    )


def pause_worker_between(worker, batch, low: int, high: int) -> int:
    """Freeze the worker process (SIGSTOP) once the planning is between `low` and `high` per cent, and
    return where it stopped. A 5,000-row preview takes about two seconds on an idle machine, less
    than the page's polls need to show it moving and to reload mid-way; frozen, "mid-way" is sure."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = ImportProgress.objects.filter(batch=batch, phase=ImportProgress.Phase.PLANNING).first()
        if progress and progress.total and low < 100 * progress.done / progress.total < high:
            os.kill(worker.proc.pid, signal.SIGSTOP)
            progress.refresh_from_db()
            return round(100 * progress.done / progress.total)
        time.sleep(0.005)
    pytest.fail(f"the preview never reached {low}-{high} %")


def resume(worker) -> None:
    os.kill(worker.proc.pid, signal.SIGCONT)


def test_a_five_thousand_row_workbook_shows_its_progress_survives_a_reload_and_is_applied(
    import_worker, new_page, staff, ministries, tmp_path
):
    path = tmp_path / "nominees.xlsx"
    workbook(path, ROWS)
    import_worker.start()
    page = new_page(user=staff)
    page.goto(page.base_url + reverse("import_upload", args=["officials"]))
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Preview the import')")
    page.wait_for_selector("#import-progress")
    batch = ImportBatch.objects.get()
    job_url = page.base_url + reverse("import_batch", args=[batch.pk])
    assert page.url == job_url

    # The bar moves without a reload: two different values, read from the same page. Reloaded
    # mid-way, and after logging out and in again, the page comes back to the same job.
    try:
        first = pause_worker_between(import_worker, batch, 0, 50)
        page.wait_for_function(f"() => {BAR} === {first}", timeout=30_000)
        assert "of 5,000 rows" in page.inner_text("#import-progress")
        screenshot(page, "import-progress")
        resume(import_worker)
        second = pause_worker_between(import_worker, batch, first, 100)
        page.wait_for_function(f"() => {BAR} === {second}", timeout=30_000)
        assert first < second < 100

        page.reload()
        assert page.url == job_url and "nominees.xlsx" in page.inner_text("h1")
        assert page.locator("#import-progress").count() == 1
        assert bar_value(page) == second
        # Log-out first asks the register's queue (static/js/offline.js) whether marks wait, then
        # submits: wait for that navigation, or the next goto races it.
        with page.expect_navigation():
            page.click("button:has-text('Log out')")
        page.goto(page.base_url + "/accounts/login/")
        page.fill("input[name=username]", staff.username)
        page.fill("input[name=password]", "correct horse battery")
        page.click("form.login-form button[type=submit]")
        page.goto(page.base_url + reverse("import_home"))
        row = page.locator("table.import-history tbody tr").first
        assert "nominees.xlsx" in row.inner_text()
        row.locator("a").click()
        assert page.url == job_url
    finally:
        resume(import_worker)

    # The page reloads itself once the worker has planned every row.
    page.wait_for_selector("button:has-text('Confirm and import')", timeout=180_000)
    assert "5000 to create" in page.inner_text(".import-counts")
    assert Official.objects.count() == 0
    page.click("button:has-text('Confirm and import')")
    page.wait_for_selector("#import-progress")  # being applied, in the background
    page.wait_for_function(
        "() => document.getElementById('import-status').textContent.trim() === 'Applied'", timeout=180_000
    )
    assert Official.objects.count() == ROWS
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.applied_by == staff


def test_a_three_row_file_is_previewed_and_applied_by_the_worker_and_the_page_follows_both(
    import_worker, new_page, staff, ministries, tmp_path
):
    """No size is small enough for the web request to do the work: the page waits a moment for the
    worker, then shows the preview, and after the confirmation the outcome, with no reload by hand."""
    path = tmp_path / "three.csv"
    path.write_bytes(officials_csv(3))
    import_worker.start()
    page = new_page(user=staff)
    page.goto(page.base_url + reverse("import_upload", args=["officials"]))
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Preview the import')")
    batch = ImportBatch.objects.get()
    assert page.url == page.base_url + reverse("import_batch", args=[batch.pk])
    page.wait_for_selector("button:has-text('Confirm and import')", timeout=20_000)
    assert "3 to create" in page.inner_text(".import-counts")
    page.click("button:has-text('Confirm and import')")
    page.wait_for_selector(".applied-summary", timeout=20_000)
    assert "Imported: 3 created, 0 updated, 0 unchanged." in page.inner_text(".applied-summary")
    assert page.inner_text("#import-status").strip() == "Applied"
    assert Official.objects.filter(email__endswith="@example.org").count() == 3


HIDE = (
    "(hidden) => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});"
    " document.dispatchEvent(new Event('visibilitychange')); }"
)


def test_the_poller_survives_failed_fetches_and_rests_while_the_tab_is_hidden(
    import_worker, new_page, staff, ministries, tmp_path
):
    """The shared poller (PCP.poll, static/js/portal.js) on a weak connection and in a hidden tab."""
    path = tmp_path / "three.csv"
    path.write_bytes(officials_csv(3))
    page = new_page(user=staff)
    asked: list[float] = []

    def weak_connection(route) -> None:
        asked.append(time.monotonic())
        if len(asked) <= 2:
            route.abort("internetdisconnected")  # the first two questions are lost
        else:
            route.continue_()

    page.route("**/progress.json", weak_connection)
    page.goto(page.base_url + reverse("import_upload", args=["officials"]))
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Preview the import')")  # no worker yet: the job waits, queued
    page.wait_for_selector("#import-progress")
    deadline = time.monotonic() + 30
    while len(asked) < 4 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(asked) >= 4, "the poller stopped after a failed fetch"
    assert page.inner_text("#import-status").strip() == "Queued"

    page.evaluate(HIDE, True)
    page.wait_for_timeout(500)  # a question already on its way may still land
    while_hidden = len(asked)
    import_worker.start()
    batch = ImportBatch.objects.get()
    deadline = time.monotonic() + 60
    while ImportBatch.objects.get(pk=batch.pk).status != ImportBatch.Status.PREVIEWED:
        assert time.monotonic() < deadline, "the worker never previewed the file"
        page.wait_for_timeout(200)
    page.wait_for_timeout(3500)  # longer than the poller's longest pause
    assert len(asked) == while_hidden, "a hidden tab kept asking"

    page.evaluate(HIDE, False)  # shown again: it asks at once, and the preview is there
    page.wait_for_selector("button:has-text('Confirm and import')", timeout=10_000)
