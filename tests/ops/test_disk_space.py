"""A full disk or temp directory: a clear message where the work was asked for, nothing half-written.

A small tmpfs mounted by the test stands in for the upload temp directory (the portal runs as
root in CI; elsewhere the tests skip, saying why).
"""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile

import pytest
from django.urls import reverse

from participants.models import ImportBatch
from tests.conftest import require

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=1777", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    require(result.returncode == 0, f"needs permission to mount a tmpfs ({result.stderr.strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def uploads_into(small_tmpfs, settings):
    """Uploads over 16 KB go to a temporary file in the tmpfs."""
    settings.FILE_UPLOAD_TEMP_DIR = str(small_tmpfs)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024
    settings.PCP_MIN_FREE_DISK_BYTES = 0
    return small_tmpfs


def officials_csv(size: int) -> bytes:
    rows = ["family_name,given_name,ministry,email"]
    index = 0
    while sum(len(row) + 1 for row in rows) < size:
        rows.append(f"Sok,Dara {index},MISTI,dara.{index}@example.gov.kh")
        index += 1
    return ("\n".join(rows) + "\n").encode()


def post_file(client, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("import_upload", args=["officials"]),
        {"file": SimpleUploadedFile("ministry-hr.csv", data, content_type="text/csv")},
    )


def test_an_upload_larger_than_the_free_temp_space_is_refused_first_with_a_form_error(
    staff_client, uploads_into
):
    response = post_file(staff_client, officials_csv(400 * 1024))

    assert response.status_code == 507
    page = response.content.decode()
    assert "The server is short of disk space" in page and "nothing was saved" in page
    assert 'class="errorlist"' in page  # shown on the file field of the form, which stays on the page
    assert "This field is required" not in page
    assert os.listdir(uploads_into) == []
    assert not ImportBatch.objects.exists()


def test_a_disk_that_fills_up_during_the_upload_gives_a_clear_message_and_leaves_no_partial_file(
    staff_client, uploads_into, monkeypatch
):
    # The free-space check passed a moment ago; another process has filled the disk since.
    monkeypatch.setattr("pcp_portal.disk.free_bytes", lambda path: 10**12)
    filler = uploads_into / "someone-elses-file"
    filler.write_bytes(b"x" * 96 * 1024)

    response = post_file(staff_client, officials_csv(300 * 1024))

    assert response.status_code == 507
    page = response.content.decode()
    assert "ran out of disk space while receiving this file" in page
    assert os.listdir(uploads_into) == [filler.name]
    assert not ImportBatch.objects.exists()


def test_an_upload_that_fits_is_read_as_before_and_its_temporary_file_removed(
    staff_client, uploads_into, public_record
):
    data = (
        "family_name,given_name,ministry,email\n"
        + "".join(f"Chan,Sophea {i},MISTI,sophea.{i}@example.gov.kh\n" for i in range(400))
    ).encode()
    assert 16 * 1024 < len(data) < 100 * 1024

    response = post_file(staff_client, data)

    assert response.status_code == 302
    assert ImportBatch.objects.count() == 1
    assert os.listdir(uploads_into) == []


def test_an_export_is_refused_with_507_when_the_temp_space_is_short(
    officer_client, small_tmpfs, settings, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(small_tmpfs))
    settings.PCP_MIN_FREE_DISK_BYTES = 1024 * 1024  # more than the whole tmpfs

    response = officer_client.get("/reports/export/programme.xlsx")

    assert response.status_code == 507
    page = response.content.decode()
    assert "The server is short of disk space" in page and "MB free" in page
    assert os.listdir(small_tmpfs) == []

    settings.PCP_MIN_FREE_DISK_BYTES = 0
    response = officer_client.get("/reports/export/programme.xlsx")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    response.close()
    assert os.listdir(small_tmpfs) == []  # openpyxl's row file and the workbook are gone


def test_a_full_disk_in_the_api_is_a_507_in_the_api_error_format(officer_client, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pcp_portal.api.KeysetCursorPagination.paginate_queryset", disk_full)

    response = officer_client.get("/api/v1/courses/", HTTP_ACCEPT="application/json")

    assert response.status_code == 507
    assert response["Content-Type"].startswith("application/json")
    assert "short of disk space" in response.json()["detail"]
