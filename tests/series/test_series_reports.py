"""Series completion in the programme report, its exports and the API summary, against the hand count."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.series.conftest import EXPECTED

pytestmark = pytest.mark.django_db

WOMEN, MEN, TOTAL = (
    "Officials who completed the series: women",
    "Officials who completed the series: men",
    "Officials in the series: total",
)


def _by_ministry(rows, header):
    column = {name: index for index, name in enumerate(header)}
    return {row[column["Ministry at first enrolment in the series"]]: row for row in rows}, column


def test_the_programme_page_shows_series_completion(series, officer_client):
    page = officer_client.get("/reports/").content.decode()
    assert f'href="/series/{series["project"].pk}/"' in page
    assert "4 officials in the series" in page and "1 official completed the series" in page
    assert 'id="table-series_completion"' in page


def test_the_series_completion_csv_and_xlsx_hold_the_hand_count(series, officer_client):
    response = officer_client.get("/reports/export/series.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    rows_by, column = _by_ministry(rows[1:], rows[0])
    total = rows_by["All ministries"]
    assert (int(total[column[WOMEN]]), int(total[column[MEN]])) == EXPECTED["completed"][:2]
    assert int(total[column[TOTAL]]) == sum(EXPECTED["officials"])
    for (name, _acronym), (officials, completed) in EXPECTED["ministries"].items():
        row = rows_by[name]
        assert int(row[column[TOTAL]]) == sum(officials), name
        assert (int(row[column[WOMEN]]), int(row[column[MEN]])) == completed[:2], name
    response = officer_client.get("/reports/export/series.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    xlsx_by, xlsx_column = _by_ministry(values[1:], list(values[0]))
    assert xlsx_by["All ministries"][xlsx_column[TOTAL]] == 4  # a number, not text
    response = officer_client.get("/reports/export/series.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_the_api_summary_carries_the_same_series_figures(series, partner_client):
    body = partner_client.get("/api/v1/reports/attendance-summary/").json()
    (entry,) = body["series"]
    assert entry["project"] == series["project"].pk
    assert entry["rule"] == {"min_courses": None, "courses": 3, "courses_held": 2, "courses_required": 2}
    total = entry["total"]
    officials = (total["officials"]["women"], total["officials"]["men"], total["officials"]["other"])
    completed = (total["completed"]["women"], total["completed"]["men"], total["completed"]["other"])
    assert (officials, completed) == (EXPECTED["officials"], EXPECTED["completed"])
    by_name = {(group["name_en"], group["acronym"]): group for group in entry["by_ministry"]}
    assert set(by_name) == set(EXPECTED["ministries"])
    assert by_name[("Ministry of Industry and Handicraft", "MIH")]["completion_rate"] == 1.0
    assert "series_completion" in body["definitions"]
