"""A staff member imports a ministry's nominee list in real Chromium: upload, preview, confirm, enrolled."""

from __future__ import annotations

import pytest
from django.urls import reverse

from participants.models import Enrollment
from participants.services import official_create
from tests.conftest import screenshot
from tests.factories import CourseFactory
from tests.imports.conftest import FILES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_upload_a_nominee_list_read_the_preview_confirm_and_see_the_officials_enrolled(
    new_page, staff, public_record, eager_imports
):
    from ministries.models import Ministry

    course = CourseFactory(number=2, title="Industrial policy and competitiveness")
    official_create(
        family_name="Sok",
        given_name="Dara",
        ministry=Ministry.objects.get(code="misti"),
        email="dara.sok@misti.gov.kh",
    )
    page = new_page(user=staff)
    page.goto(page.base_url + reverse("dashboard"))
    page.click("nav.main-nav >> text=Import")
    page.click(f"a[href='{reverse('import_upload', args=['enrolments'])}']")
    page.select_option("select[name=course]", str(course.pk))
    page.set_input_files("input[name=file]", str(FILES / "enrolments_clean.csv"))
    page.click("button:has-text('Preview the import')")
    page.wait_for_selector("table.import-rows")
    rows = page.locator("table.import-rows tbody tr")
    assert rows.count() == 3
    assert "3 to create" in page.inner_text(".import-counts")
    assert "Existing official, enrolled in the course." in rows.nth(0).inner_text()
    assert "New official, enrolled in the course." in rows.nth(2).inner_text()
    assert Enrollment.objects.count() == 0
    screenshot(page, "import-preview")

    page.click("button:has-text('Confirm and import')")
    page.wait_for_selector("#enrolled")
    assert "Imported: 3 created, 0 updated, 0 unchanged." in page.inner_text(".applied-summary")
    enrolled = page.inner_text("#enrolled")
    assert "SOK Dara" in enrolled and "NOUN Sreyneang" in enrolled and "CHAN Vuthy" in enrolled
    screenshot(page, "import-applied")

    page.click(f"a[href='{reverse('course_detail', args=[course.pk])}']")
    assert "NOUN Sreyneang" in page.inner_text("main")
    assert Enrollment.objects.filter(course=course).count() == 3
