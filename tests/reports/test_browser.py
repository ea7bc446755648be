"""A UNIDO officer opens the programme report, a chart and a course matrix in Chromium."""

from __future__ import annotations

import pytest

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_reads_the_programme_report_a_chart_and_a_course_matrix(world, officer, new_page):
    page = new_page(user=officer)
    page.goto(f"{page.base_url}/reports/")
    assert page.locator("#fig-sessions-held").inner_text() == "6"
    assert page.locator("#chart-women-share-per-course svg rect.bar").count() == 2
    screenshot(page, "reports-programme")
    page.locator("#chart-women-share-per-course").screenshot(path=str(screenshot(page, "reports-chart")))
    page.click(f"a[href='/reports/courses/{world['a'].pk}/']")
    assert page.locator("#course-matrix tbody tr").count() == 3
    assert "ចាន់ ស្រីមុំ" in page.locator("#course-matrix").inner_text()
    screenshot(page, "reports-course-matrix")
    page.click(".report-tabs a[href^='/reports/sessions/']")
    assert page.locator("#chart-attendance-per-session svg rect.bar").count() == 6
    screenshot(page, "reports-sessions")
