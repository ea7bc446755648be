"""The IATI 2.03 file: valid against the schema offline, the right values, never served invalid."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from defusedxml import ElementTree as ET
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from courses.models import Indicator, IndicatorPeriod, Project, Result
from courses.services import framework_save, series_rule_set
from participants.demo import load_demo_data
from participants.reports import figures as fig
from participants.results import actuals
from participants.results.iati import build_iati, validation_errors
from participants.series import series_status

IDENTIFIER = "XM-DAC-41123-170170"


@pytest.fixture
def iati_ready(framework, settings):
    settings.PCP_IATI_ACTIVITY_IDENTIFIER = IDENTIFIER
    project = framework["output"].project
    project.description, project.donor = "Capacity building for industrial policy.", "Republic of Korea"
    project.save()
    return project


def test_the_file_validates_and_carries_targets_and_actuals_by_sex(iati_ready, framework):
    built = build_iati(iati_ready)
    assert built.missing == []
    assert validation_errors(built.xml) == []
    root = ET.fromstring(built.xml)
    activity = root.find("iati-activity")
    assert activity.findtext("iati-identifier") == IDENTIFIER
    assert activity.find("reporting-org").get("ref") == "XM-DAC-41123"
    assert activity.find("sector").get("code") == "32110"
    assert [r.get("type") for r in activity.findall("result")] == ["3", "2", "1"]
    trained = next(
        indicator
        for indicator in activity.iter("indicator")
        if indicator.findtext("title/narrative") == "Officials trained"
    )
    period_2021 = next(
        p for p in trained.findall("period") if p.find("period-start").get("iso-date") == "2021-01-01"
    )
    women_target = period_2021.find("target/dimension[@value='female']/..")
    assert women_target.get("value") == "2"
    women_actual = period_2021.find("actual/dimension[@value='female']/..")
    men_actual = period_2021.find("actual/dimension[@value='male']/..")
    assert (women_actual.get("value"), men_actual.get("value")) == ("2", "1")  # o1, o3 / o2 in 2021
    total = [a.get("value") for a in period_2021.findall("actual") if a.find("dimension") is None]
    assert total == ["3"]
    assert trained.find("baseline").get("year") == "2020"


def test_a_missing_required_field_lists_it_and_produces_no_xml(framework, settings, officer):
    settings.PCP_IATI_ACTIVITY_IDENTIFIER = ""
    built = build_iati(framework["output"].project)
    assert built.xml is None
    assert any("PCP_IATI_ACTIVITY_IDENTIFIER" in item for item in built.missing)
    assert any("description" in item for item in built.missing)
    client = Client()
    client.force_login(officer)
    response = client.get(f"/reports/iati.xml?project={framework['output'].project.pk}")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert "PCP_IATI_ACTIVITY_IDENTIFIER" in response.content.decode()
    assert b"<iati-activities" not in response.content


def test_the_officer_downloads_a_valid_file(iati_ready, officer):
    client = Client()
    client.force_login(officer)
    response = client.get(f"/reports/iati.xml?project={iati_ready.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert validation_errors(response.content) == []
    assert client.get("/reports/iati.xml?project=nonsense").status_code == 409


def test_the_command_writes_the_valid_file_or_says_what_is_missing(iati_ready, tmp_path, settings):
    output = tmp_path / "iati.xml"
    call_command("export_iati", project=iati_ready.pk, output=str(output))
    assert validation_errors(output.read_bytes()) == []
    settings.PCP_IATI_ACTIVITY_IDENTIFIER = ""
    with pytest.raises(CommandError, match="PCP_IATI_ACTIVITY_IDENTIFIER"):
        call_command("export_iati", project=iati_ready.pk, output=str(tmp_path / "no.xml"))
    assert not (tmp_path / "no.xml").exists()


def demo_framework(project: Project) -> dict[str, Indicator]:
    """The demo project's framework: officials trained by sex, women's share, course 3 completed,
    series completion, ministries represented."""
    output = framework_save(
        instance=Result(
            programme=project.programme,
            project=project,
            level=Result.Level.OUTPUT,
            title_en="Officials trained",
        )
    )
    course_3 = project.courses.get(number=3)
    made = {}
    for name, definition, measure, course in (
        ("trained", "trained", 1, None),
        ("women_share", "women_share", 2, None),
        ("completed_3", "completed", 1, course_3),
        ("series", "series_completed", 1, None),
        ("ministries", "ministries", 1, None),
    ):
        made[name] = framework_save(
            instance=Indicator(
                result=output,
                title_en=name,
                measure=measure,
                source="computed",
                definition=definition,
                course=course,
            )
        )
        framework_save(
            instance=IndicatorPeriod(
                indicator=made[name],
                period_start=datetime.date(2019, 1, 1),
                period_end=datetime.date(2020, 12, 31),
                target_value=Decimal(50),
            )
        )
    return made


@pytest.mark.django_db
def test_on_the_demo_data_the_actuals_are_the_programme_reports_and_the_file_validates(
    public_record, settings
):
    load_demo_data(today=datetime.date(2020, 6, 1))
    settings.PCP_IATI_ACTIVITY_IDENTIFIER = IDENTIFIER
    project = Project.objects.get(reference_key="project:rok-capacity-building")
    made = demo_framework(project)
    rows = actuals.framework_progress(project=project)
    got = {item.indicator.pk: item.periods[0].actual for row in rows for item in row.indicators}
    filters = fig.ReportFilters(date_from=datetime.date(2019, 1, 1), date_to=datetime.date(2020, 12, 31))
    programme = fig.programme_figures(filters)
    course_3 = fig.programme_figures(
        fig.ReportFilters(
            course_id=made["completed_3"].course_id, date_from=filters.date_from, date_to=filters.date_to
        )
    )
    assert programme.trained.total > 0
    assert got[made["trained"].pk].total == programme.trained.total
    assert got[made["trained"].pk].women == programme.trained.women
    assert got[made["women_share"].pk].total == Decimal(str(round(programme.trained.women_share * 100, 2)))
    assert got[made["completed_3"].pk].total == course_3.completed.total
    assert got[made["ministries"].pk].total == fig.programme_reach(filters).ministries_reached
    # Series completion: the series page's statuses as they stood when the period ended. Nobody in
    # the demo attends all four courses enough, so the series is set to complete with three.
    series_rule_set(project=project, min_courses=3)
    rows = actuals.framework_progress(project=project)
    got = {item.indicator.pk: item.periods[0].actual for row in rows for item in row.indicators}
    end = datetime.datetime(2021, 1, 1, tzinfo=timezone.get_current_timezone())
    completed = [status for status in series_status(project, now=end).values() if status.completed]
    assert completed and got[made["series"].pk].total == len(completed)
    assert got[made["series"].pk].women == sum(1 for status in completed if status.sex == "female")
    built = build_iati(project)
    assert built.missing == [], built.missing
    assert validation_errors(built.xml) == []


def test_the_validator_refuses_an_incomplete_activity():
    errors = validation_errors(
        b'<iati-activities version="2.03"><iati-activity><title/></iati-activity></iati-activities>'
    )
    assert errors
