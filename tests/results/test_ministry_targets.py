"""Targets per ministry: a line per ministry on the progress page and in its workbook, counted by
hand on the cast (tests/reports/conftest.py), and the combinations a target row cannot have refused
on their field."""

from __future__ import annotations

import datetime
import io
import subprocess
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from courses.models import Indicator, IndicatorPeriod
from courses.services import framework_save
from participants.reports import figures as fig
from participants.results import pack
from participants.results.actuals import Value, framework_progress
from tests.conftest import require
from tests.results.conftest import ALL, Y2021, Y2022, add_period


@pytest.fixture
def ministry_targets(framework, world):
    misti, moc = world["misti"], world["moc"]
    add_period(framework["trained"], Y2021, 2, ministry=misti)
    add_period(framework["trained"], Y2021, 2, ministry=moc)
    add_period(framework["trained"], Y2022, 1, ministry=moc)
    add_period(framework["attendance"], ALL, 60, ministry=misti)
    add_period(framework["attendance"], ALL, 60, ministry=moc)
    add_period(framework["women_share"], ALL, 50, ministry=moc)
    add_period(framework["completed_b"], Y2022, 1, ministry=moc)
    return framework


def _lines(framework, name, period):
    rows = framework_progress(project=framework["output"].project)
    items = {item.indicator.pk: item for row in rows for item in row.indicators}
    found = {(p.start, p.end): p for p in items[framework[name].pk].periods}[period]
    return found, {line.ministry.acronym: line for line in found.ministries}


def test_a_ministry_line_counts_only_that_ministrys_officials_by_the_same_definition(ministry_targets):
    framework = ministry_targets
    # 2021 is course A: o1 (woman) and o2 (man) of MISTI attended, o3 (woman) of MOC.
    period, lines = _lines(framework, "trained", Y2021)
    assert period.target == Value(Decimal(4), Decimal(2), Decimal(2))  # everyone's target unchanged
    assert period.actual == Value(Decimal(3), Decimal(2), Decimal(1))
    assert [line.ministry.acronym for line in period.ministries] == ["MOC", "MISTI"]  # by English name
    assert (lines["MISTI"].target, lines["MISTI"].actual) == (
        Decimal(2),
        Value(Decimal(2), Decimal(1), Decimal(1)),
    )
    assert lines["MISTI"].percent_of_target == Decimal("100.0")
    assert (lines["MOC"].target, lines["MOC"].actual) == (
        Decimal(2),
        Value(Decimal(1), Decimal(1), Decimal(0)),
    )
    assert lines["MOC"].percent_of_target == Decimal("50.0")
    # 2022 is course B: only o3 (MOC) attended; MISTI has no 2022 target but keeps its line.
    _period, lines = _lines(framework, "trained", Y2022)
    assert lines["MOC"].actual == Value(Decimal(1), Decimal(1), Decimal(0))
    assert (lines["MISTI"].target, lines["MISTI"].actual) == (None, Value(Decimal(0), Decimal(0), Decimal(0)))
    assert lines["MISTI"].percent_of_target is None
    # MISTI: 4 of 8 expected (o1 3 of 4, o2 1 of 4); MOC: 5 of 8 (o3 4 of 4 and 1 of 2, o5 0 of 2).
    _period, lines = _lines(framework, "attendance", ALL)
    assert lines["MISTI"].actual == Value(Decimal("50.00"), Decimal("75.00"), Decimal("25.00"))
    assert lines["MOC"].actual == Value(Decimal("62.50"), Decimal("83.33"), Decimal("0.00"))
    # MOC's trained officials over both years: o3 only, a woman.
    _period, lines = _lines(framework, "women_share", ALL)
    assert lines["MOC"].actual == Value(Decimal("100.00"))
    # Course B, MOC: o3 completed (1 of 2 held, threshold 50 %); o5 did not.
    _period, lines = _lines(framework, "completed_b", Y2022)
    assert list(lines) == ["MOC"]
    assert lines["MOC"].actual == Value(Decimal(1), Decimal(1), Decimal(0))


def test_an_entered_indicator_shows_the_actual_entered_on_the_ministrys_row(framework, world):
    add_period(
        framework["policies"], ALL, 1, ministry=world["moc"], actual_value=Decimal(1), actual_note="MOC draft"
    )
    period, lines = _lines(framework, "policies", ALL)
    assert period.actual == Value(Decimal(1), None, None)  # everyone's row, not the ministry's
    assert lines["MOC"].actual == Value(Decimal(1))
    assert "MOC draft" in period.notes


def test_ministry_lines_ask_one_report_per_distinct_course_ministry_and_period(
    ministry_targets, django_assert_num_queries
):
    # The framework alone: 3 + 4 (tests/results/test_actuals.py). Ministry lines add one report
    # per new (course, ministry, period): trained 2 ministries × 2 years; attendance 2 × ALL, which
    # women's share (MOC, ALL) shares; completed_b: course B, MOC, 2022.
    with django_assert_num_queries(3 + 4 + 4 + 2 + 1):
        framework_progress(project=ministry_targets["output"].project)


def test_the_page_and_the_workbook_carry_the_ministry_lines(ministry_targets, world, officer):
    client = Client()
    client.force_login(officer)
    project = ministry_targets["output"].project
    page = client.get(f"/results/projects/{project.pk}/").content.decode()
    table = page.split(f'id="progress-ministries-{ministry_targets["trained"].pk}"')[1].split("</table>")[0]
    misti_2021 = table.split(f'data-period="2021-01-01/2021-12-31" data-ministry="{world["misti"].pk}"')[1]
    misti_2021 = misti_2021.split("</tr>")[0]
    assert '<td class="num target">2.00</td>' in misti_2021
    assert '<td class="num actual">2</td>' in misti_2021
    assert "100.0 %" in misti_2021
    assert "By ministry" in page
    client.cookies["django_language"] = "km"
    assert "តាមក្រសួង" in client.get(f"/results/projects/{project.pk}/").content.decode()
    workbook = load_workbook(
        io.BytesIO(b"".join(client.get(f"/results/projects/{project.pk}/progress.xlsx")))
    )
    assert workbook.sheetnames[-2] == "តាមក្រសួង"
    sheet = workbook.worksheets[-2]
    rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    moc_2021 = [
        row
        for row in rows
        if row[1] == "Officials trained" and row[2].year == 2021 and row[4] == "Ministry of Commerce"
    ]
    assert [row[5:10] for row in moc_2021] == [[2, 1, 50, 1, 0]]
    assert len(rows) == 4 + 2 + 1 + 1  # every line on the page


def test_the_pack_pdf_carries_the_ministry_lines(ministry_targets, world, tmp_path):
    require(subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0, "needs pdftotext")
    project = ministry_targets["output"].project
    now = timezone.now()
    pdf = pack.progress_pdf(
        project, framework_progress(project=project, now=now), fig.ReportFilters(), now=now
    )
    (tmp_path / "progress.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "progress.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Officials trained, 2021, MISTI: target 2, actual 2 (a woman and a man), 100 %.
    line = next(line for line in text.splitlines() if "2021-01-01 – 2021-12-31" in line and "MISTI" in line)
    assert line.split("MISTI")[1].split() == ["2.00", "2", "100.0", "%", "1", "1"]


def _period(indicator, **extra):
    return IndicatorPeriod(
        indicator=indicator,
        period_start=datetime.date(2021, 1, 1),
        period_end=datetime.date(2021, 12, 31),
        target_value=Decimal(1),
        **extra,
    )


def _refused(instance, field: str) -> str:
    before = IndicatorPeriod.objects.count()
    with pytest.raises(ValidationError) as caught:
        framework_save(instance=instance)
    assert IndicatorPeriod.objects.count() == before
    assert field in caught.value.message_dict, caught.value.message_dict
    return " ".join(caught.value.message_dict[field])


def test_a_target_for_one_sex_of_one_ministry_is_refused(framework, world):
    period = _period(framework["trained"], sex="female", ministry=world["moc"])
    assert "for everyone, for one sex or for one ministry" in _refused(period, "ministry")


def test_a_second_target_for_the_same_ministry_and_period_is_refused(framework, world):
    add_period(framework["trained"], Y2021, 2, ministry=world["moc"])
    assert "already has a target for this period and ministry" in _refused(
        _period(framework["trained"], ministry=world["moc"]), "__all__"
    )
    # Another ministry, and everyone's and each sex's targets, stand beside it.
    framework_save(instance=_period(framework["trained"], ministry=world["misti"]))


def test_a_target_for_another_ministry_than_the_indicators_own_is_refused(framework, world, staff):
    only_moc = framework_save(
        instance=Indicator(
            result=framework["output"],
            title_en="MOC officials trained",
            source=Indicator.Source.COMPUTED,
            definition="trained",
            ministry=world["moc"],
        )
    )
    assert "counts only the officials of Ministry of Commerce" in _refused(
        _period(only_moc, ministry=world["misti"]), "ministry"
    )
    framework_save(instance=_period(only_moc, ministry=world["moc"]))


def test_ministries_represented_takes_no_ministry_target(framework, world):
    assert "not per ministry" in _refused(_period(framework["ministries"], ministry=world["moc"]), "ministry")


def test_staff_are_refused_a_sex_and_a_ministry_together_on_the_form(framework, world, staff):
    client = Client()
    client.force_login(staff)
    url = f"/results/indicators/{framework['trained'].pk}/periods/new/"
    data = {"period_start": "2021-01-01", "period_end": "2021-12-31", "target_value": "1"}
    response = client.post(url, {**data, "sex": "female", "ministry": world["moc"].pk})
    assert response.status_code == 400
    assert "leave the sex empty for a ministry" in response.content.decode()
    response = client.post(url, {**data, "ministry": world["moc"].pk})
    assert response.status_code == 302
    assert (
        IndicatorPeriod.objects.get(indicator=framework["trained"], ministry=world["moc"]).target_value == 1
    )
