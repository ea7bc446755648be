"""In real Chromium: the template from the session page, two codes typed, uploaded, previewed,
confirmed, and the register shows those two officials present, and nobody else marked."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from participants.models import Attendance
from tests.conftest import screenshot
from tests.imports.conftest import eager_imports  # noqa: F401 - a fixture, shared
from tests.signin.conftest import enrolment_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_type_two_codes_from_the_paper_into_the_template_and_the_register_shows_them(
    new_page,
    staff,
    sheet_session,
    tmp_path,
    eager_imports,  # noqa: F811
):
    page = new_page(user=staff)
    page.goto(page.base_url + reverse("session_detail", args=[sheet_session.pk]))
    with page.expect_download() as download_info:
        page.click("#signin-template-csv")
    template = download_info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(template)))
    by_name = {row[3] or row[5]: row for row in rows[1:]}
    by_name["Sok"][1] = "P"
    by_name["Keo"][1] = "present"
    filled = tmp_path / "signed-sheet.csv"
    with filled.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)

    page.click("#signin-import")
    assert page.input_value("select[name=session]") == str(sheet_session.pk)
    page.set_input_files("input[name=file]", str(filled))
    page.click("button:has-text('Preview the import')")
    page.wait_for_selector("table.import-rows")
    assert "2 to create" in page.inner_text(".import-counts")
    created = page.locator("table.import-rows tbody tr.import-row-create")
    assert created.count() == 2
    assert (
        by_name["Sok"][0] in created.nth(0).inner_text() or by_name["Sok"][0] in created.nth(1).inner_text()
    )
    text = page.inner_text("table.import-rows")
    assert f"{by_name['Sok'][0]} · SOK Dara" in text and f"{by_name['Keo'][0]} · KEO Sreymom" in text
    assert not Attendance.objects.exists()
    screenshot(page, "signin-import-preview")

    page.click("button:has-text('Confirm and import')")
    page.wait_for_selector(".applied-summary")
    page.goto(page.base_url + reverse("session_detail", args=[sheet_session.pk]))
    for name in ("Sok", "Keo"):
        assert page.is_checked(f"#status-{enrolment_of(sheet_session, name).pk}-present")
    for name in ("Chan", "Lim", "Phan"):
        row = page.locator(f"tr[data-enrollment='{enrolment_of(sheet_session, name).pk}']")
        assert row.locator("input[type=radio]:checked").count() == 0
    screenshot(page, "signin-register-after-import")
    assert Attendance.objects.count() == 2
