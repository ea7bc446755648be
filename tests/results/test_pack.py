"""The donor pack: every file in the ZIP carries the same figures as the progress page."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile

import pytest
from defusedxml import ElementTree as ET
from django.test import Client
from openpyxl import load_workbook

from participants.results.iati import validation_errors
from tests.conftest import require
from tests.results.test_iati import iati_ready  # noqa: F401  (fixture)


def _pack(officer, project, query="") -> zipfile.ZipFile:
    client = Client()
    client.force_login(officer)
    response = client.get(f"/results/projects/{project.pk}/pack.zip{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_the_pack_holds_each_file_with_the_same_figures(iati_ready, framework, officer, tmp_path):  # noqa: F811
    archive = _pack(officer, iati_ready)
    assert sorted(archive.namelist()) == [
        "README.txt",
        "attendance-by-course.csv",
        "attendance-by-ministry.csv",
        "iati-activity.xml",
        "progress.pdf",
        "progress.xlsx",
    ]
    # Officials trained in 2021: target 4 (2 women, 2 men), actual 3 (2 women, 1 man).
    output = load_workbook(io.BytesIO(archive.read("progress.xlsx")))["Output"]
    row = next(
        r
        for r in output.iter_rows(min_row=2, values_only=True)
        if r[1] == "Officials trained" and r[5].year == 2021
    )
    assert row[7:15] == (4, 3, 75, "On track", 2, 2, 2, 1)
    xml = archive.read("iati-activity.xml")
    assert validation_errors(xml) == []
    root = ET.fromstring(xml)
    period = next(
        p
        for indicator in root.iter("indicator")
        if indicator.findtext("title/narrative") == "Officials trained"
        for p in indicator.findall("period")
        if p.find("period-start").get("iso-date") == "2021-01-01"
    )
    assert [a.get("value") for a in period.findall("actual")] == ["3", "2", "1"]
    by_course = list(csv.reader(io.StringIO(archive.read("attendance-by-course.csv").decode("utf-8-sig"))))
    assert by_course[0][0] == "Course"
    assert len(by_course) == 4  # two courses and the total
    readme = archive.read("README.txt").decode()
    assert "Officials trained: distinct officials" in readme
    require(subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0, "needs pdftotext")
    (tmp_path / "progress.pdf").write_bytes(archive.read("progress.pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "progress.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in text.splitlines() if "2021-01-01 – 2021-12-31" in line and "75.0 %" in line)
    assert "4.00" in line and "2.00 / 2" in line and "2.00 / 1" in line


def test_a_pack_for_a_period_keeps_its_periods_and_refuses_a_backwards_range(iati_ready, framework, officer):  # noqa: F811
    archive = _pack(officer, iati_ready, "?date_from=2022-01-01&date_to=2022-12-31")
    output = load_workbook(io.BytesIO(archive.read("progress.xlsx")))["Output"]
    ends = {r[6].year for r in output.iter_rows(min_row=2, values_only=True)}
    assert ends == {2022}  # the 2021 target is left out; 2021–2022 overlaps the period and stays
    client = Client()
    client.force_login(officer)
    response = client.get(
        f"/results/projects/{iati_ready.pk}/pack.zip?date_from=2022-12-31&date_to=2022-01-01"
    )
    assert response.status_code == 400
    assert "before it starts" in response.content.decode()


@pytest.mark.django_db
def test_without_the_iati_identifier_the_pack_says_why_the_file_is_missing(framework, officer, settings):
    settings.PCP_IATI_ACTIVITY_IDENTIFIER = ""
    archive = _pack(officer, framework["output"].project)
    assert "iati-activity.xml" not in archive.namelist()
    assert "PCP_IATI_ACTIVITY_IDENTIFIER" in archive.read("README.txt").decode()
