"""A 50,000-row file imported in the background while the same staff member keeps marking a register,
in real Chromium with a real worker on Redis: both end right.

The worker is frozen (SIGSTOP) half-way through the apply, its transaction open and its locks held,
while the register is marked: the register's writes must not wait for the import. About 70 s for
the test itself (95 s with its set-up) on the shared 2-core machine under a load average of 9, with
a real worker on PostgreSQL and Redis: it runs in CI on PostgreSQL (CI=true and DATABASE_URL
set), and elsewhere when PCP_SLOW_TESTS=1 (PCP_LARGE_IMPORT_ROWS sets the size).
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.urls import reverse

from participants.models import Attendance, ImportBatch, ImportProgress, Official
from tests.factories import CourseFactory, EnrollmentFactory, SessionFactory
from tests.imports.conftest import officials_csv

ROWS = int(os.environ.get("PCP_LARGE_IMPORT_ROWS", "50000"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("PCP_SLOW_TESTS") != "1"
        and not (
            os.environ.get("CI") == "true" and os.environ.get("DATABASE_URL", "").startswith("postgres")
        ),
        reason="a 50,000-row import: run in CI on PostgreSQL, or set PCP_SLOW_TESTS=1 to run it here",
    ),
]

MARKS = {0: "late", 2: "absent", 4: "excused"}


def freeze_worker_in(worker, batch, phase: str, low: int, high: int) -> None:
    """SIGSTOP the worker once `phase` is between `low` and `high` per cent."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        progress = ImportProgress.objects.filter(batch=batch, phase=phase).first()
        if progress and progress.total and low < 100 * progress.done / progress.total < high:
            os.kill(worker.proc.pid, signal.SIGSTOP)
            return
        time.sleep(0.01)
    pytest.fail(f"the import never reached {low}-{high} % of {phase}")


def test_a_large_file_is_applied_in_the_background_while_the_same_user_marks_a_register(
    import_worker, new_page, staff, ministries, tmp_path
):
    course = CourseFactory()
    session = SessionFactory(course=course)
    for n in range(6):
        EnrollmentFactory(
            course=course, official__family_name=f"Chan{n}", official__ministry=ministries["misti"]
        )
    path = tmp_path / "officials.csv"
    path.write_bytes(officials_csv(ROWS))
    import_worker.start()
    page = new_page(user=staff)
    page.goto(page.base_url + reverse("import_upload", args=["officials"]))
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Preview the import')")
    page.wait_for_selector("#import-progress")
    batch = ImportBatch.objects.get()
    page.wait_for_selector("button:has-text('Confirm and import')", timeout=900_000)
    page.click("button:has-text('Confirm and import')")
    page.wait_for_selector("#import-progress")

    try:
        freeze_worker_in(import_worker, batch, ImportProgress.Phase.APPLYING, 5, 90)
        # Half-way through, the apply's transaction open: the same user goes to the register.
        page.goto(page.base_url + reverse("session_detail", args=[session.pk]))
        rows = page.locator("tr.register-row")
        assert rows.count() == 6
        for index, status in MARKS.items():
            rows.nth(index).locator(f"input[value={status}] + label").click()
        page.wait_for_function(
            "() => !document.querySelector('tr.row-saving, tr.row-unsaved')"
            " && document.querySelector('[data-count=unsaved]').textContent === '0'",
            timeout=30_000,
        )
        batch.refresh_from_db()
        assert batch.status == ImportBatch.Status.APPLYING
        assert Official.objects.filter(email__endswith="@example.org").count() == 0  # nothing committed yet
    finally:
        os.kill(import_worker.proc.pid, signal.SIGCONT)

    page.goto(page.base_url + reverse("import_batch", args=[batch.pk]))
    page.wait_for_function(
        "() => document.getElementById('import-status').textContent.trim() === 'Applied'", timeout=900_000
    )
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert Official.objects.filter(email__endswith="@example.org").count() == ROWS
    by_row = dict(
        Attendance.objects.filter(session=session).values_list("enrollment__official__family_name", "status")
    )
    assert by_row == {f"Chan{index}": status for index, status in MARKS.items()}
