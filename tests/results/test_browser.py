"""An officer reads the progress page in Khmer and English and downloads the donor pack; the
figures in the pack's PDF (as text), workbook and IATI file are those the page shows."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile

import pytest
from defusedxml import ElementTree as ET
from openpyxl import load_workbook

from tests.conftest import require, screenshot
from tests.results.test_iati import iati_ready  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_officer_reads_progress_in_both_languages_and_the_pack_agrees(
    new_page,
    iati_ready,  # noqa: F811
    framework,
    officer,
    tmp_path,
):
    project = iati_ready
    trained = framework["trained"].pk
    row_selector = f"#progress-{trained} tr[data-period='2021-01-01/2021-12-31']"
    shown = {}
    for language in ("km", "en"):
        page = new_page(officer, locale=language)
        page.goto(f"{page.base_url}/results/projects/{project.pk}/")
        assert page.locator("html").get_attribute("lang") == language
        row = page.locator(row_selector)
        shown[language] = {
            cell: row.locator(f"td.{cell}").inner_text().strip()
            for cell in ("target", "percent", "women", "men")
        }
        shown[language]["actual"] = row.locator("td.actual .value").inner_text().strip()
        screenshot(page, f"results-progress-{language}")
    # Khmer writes a decimal comma (Django's km formats); the figures are the same.
    assert {key: value.replace(",", ".") for key, value in shown["km"].items()} == shown["en"]
    figures = shown["en"]
    assert figures["target"] == "4.00"
    assert figures["actual"] == "3"
    with page.expect_download() as download:
        page.click("#pack-button")
    path = tmp_path / "pack.zip"
    download.value.save_as(path)
    archive = zipfile.ZipFile(path)
    output = load_workbook(io.BytesIO(archive.read("progress.xlsx")))["Output"]
    xlsx = next(
        r
        for r in output.iter_rows(min_row=2, values_only=True)
        if r[1] == "Officials trained" and r[5].year == 2021
    )
    assert f"{xlsx[7]:.2f}" == figures["target"]
    assert figures["actual"] == str(xlsx[8])
    assert figures["percent"] == f"{xlsx[9]:.1f} %"
    assert figures["women"] == f"{xlsx[11]:.2f} / {xlsx[12]}"
    root = ET.fromstring(archive.read("iati-activity.xml"))
    period = next(
        p
        for indicator in root.iter("indicator")
        if indicator.findtext("title/narrative") == "Officials trained"
        for p in indicator.findall("period")
        if p.find("period-start").get("iso-date") == "2021-01-01"
    )
    assert [a.get("value") for a in period.findall("actual")] == [str(xlsx[8]), str(xlsx[12]), str(xlsx[14])]
    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils)")
    (tmp_path / "progress.pdf").write_bytes(archive.read("progress.pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "progress.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(
        line for line in text.splitlines() if "2021-01-01 – 2021-12-31" in line and figures["percent"] in line
    )
    assert figures["target"] in line and figures["women"] in line and figures["men"] in line
