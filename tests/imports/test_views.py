"""The import pages: only mih_staff and superusers; clear refusals; preview, decide, confirm, history."""

from __future__ import annotations

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from participants.models import ImportBatch, Official
from participants.services import official_create
from tests.imports.conftest import file_bytes, run_import_tasks


def upload(client, name: str, data: bytes | None = None, kind: str = "officials", **extra):
    """Upload as the page does, then let the worker preview it (the request only queues it)."""
    body = SimpleUploadedFile(name, file_bytes(name) if data is None else data)
    response = client.post(reverse("import_upload", args=[kind]), {"file": body, **extra})
    run_import_tasks()
    return response


def confirm(client, batch, data=None):
    """Confirm as the page does, then let the worker apply it; the batch page as it is then."""
    response = client.post(reverse("import_confirm", args=[batch.pk]), data or {})
    if response.status_code != 302:
        return response
    run_import_tasks()
    return client.get(response["Location"])


def test_an_officer_gets_403_and_sees_no_import_link(officer_client, public_record):
    response = upload(officer_client, "officials_clean.csv")
    assert response.status_code == 403
    assert officer_client.get(reverse("import_home")).status_code == 403
    assert reverse("import_home") not in officer_client.get(reverse("dashboard")).content.decode()
    assert not ImportBatch.objects.exists()


def test_staff_see_the_import_link(staff_client):
    assert reverse("import_home") in staff_client.get(reverse("dashboard")).content.decode()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("import_home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_upload_preview_and_confirm_through_the_pages(staff_client, ministries):
    response = upload(staff_client, "officials_clean.csv")
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("import_batch", args=[batch.pk])
    page = staff_client.get(response["Location"]).content.decode()
    assert "5 to create" in page and "dara.sok@misti.gov.kh" in page
    assert Official.objects.count() == 0
    queued = staff_client.post(reverse("import_confirm", args=[batch.pk]))
    # The request only queued the apply; the worker writes.
    assert queued.status_code == 302 and Official.objects.count() == 0
    page = staff_client.get(queued["Location"]).content.decode()
    assert "being applied in the background" in page
    run_import_tasks()
    page = staff_client.get(queued["Location"]).content.decode()
    assert "Imported: 5 created, 0 updated, 0 unchanged." in page
    assert Official.objects.count() == 5
    history = staff_client.get(reverse("import_home")).content.decode()
    assert "officials_clean.csv" in history and batch.checksum[:10] in history


def test_a_refused_file_is_shown_with_its_reason_and_changes_nothing(staff_client, ministries):
    response = upload(staff_client, "image_renamed.csv")
    assert response.status_code == 400
    assert "This file is a PNG image, not a CSV or XLSX spreadsheet." in response.content.decode()
    response = upload(staff_client, "zip_bomb.xlsx")
    assert "zip bomb" in response.content.decode()
    assert Official.objects.count() == 0


def test_an_upload_over_the_limit_is_refused(staff_client, settings, ministries):
    settings.PCP_IMPORT_MAX_BYTES = 2048
    response = upload(staff_client, "officials_200_good_1_bad.csv")
    assert response.status_code == 400
    assert "The file is 19 KB; the largest file accepted is 2 KB." in response.content.decode()


def test_a_file_with_an_error_row_cannot_be_confirmed(staff_client, ministries):
    upload(staff_client, "officials_200_good_1_bad.csv")
    batch = ImportBatch.objects.get()
    page = staff_client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    assert "Row 151, column “Ministry”, “Ministry of Magic”: no ministry of this name." in page
    assert "Confirm and import" not in page
    response = staff_client.post(reverse("import_confirm", args=[batch.pk]))
    assert response.status_code == 400
    assert "Nothing was imported: 1 row(s) are in error (lines 151)" in response.content.decode()
    assert Official.objects.count() == 0
    report = staff_client.get(reverse("import_errors", args=[batch.pk]))
    assert "Ministry of Magic" in report.content.decode("utf-8-sig")


def test_an_uncertain_match_is_decided_on_the_preview(staff_client, ministries):
    existing = official_create(family_name="Sok", given_name="Dara", ministry=ministries["mef"])
    upload(staff_client, "same.csv", b"Family name,Given name,Ministry\nSok,Dara,MISTI\n")
    batch = ImportBatch.objects.get()
    page = staff_client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    assert 'name="decide-0"' in page and "Same name, another ministry." in page
    refused = staff_client.post(reverse("import_confirm", args=[batch.pk]))
    assert refused.status_code == 400 and "Choose who is meant on lines 2" in refused.content.decode()
    confirm(staff_client, batch, {"decide-0": str(existing.pk)})
    existing.refresh_from_db()
    assert existing.ministry == ministries["misti"] and Official.objects.count() == 1


def test_discarding_a_preview_changes_nothing(staff_client, ministries):
    upload(staff_client, "officials_clean.csv")
    batch = ImportBatch.objects.get()
    staff_client.post(reverse("import_discard", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DISCARDED
    assert staff_client.post(reverse("import_confirm", args=[batch.pk])).status_code == 400
    assert Official.objects.count() == 0


def test_templates_download_with_english_or_khmer_headers(staff_client):
    csv_km = staff_client.get(reverse("import_template", args=["officials", "km", "csv"]))
    assert csv_km.content.decode("utf-8-sig").startswith("នាមត្រកូល,នាមខ្លួន")
    xlsx = staff_client.get(reverse("import_template", args=["attendance", "en", "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]][:2] == ["Name", "Family name"]
    assert staff_client.get(reverse("import_template", args=["officials", "fr", "csv"])).status_code == 404


def test_a_template_reimports_as_a_file_with_no_rows(staff, ministries):
    from participants.imports.files import template_file
    from participants.imports.plan import preview_import
    from participants.imports.reading import ImportFileError

    content, _type, name = template_file("officials", "km", "xlsx")
    try:
        preview_import(kind="officials", filename=name, data=content, user=staff)
    except ImportFileError as error:
        assert error.message == "The file has a header but no rows to import."
