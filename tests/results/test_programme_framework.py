"""The programme's own results framework (results of no project: the PCP's outcomes), built and read
in its pages as staff and officers use them, with the same definitions as a project's; and the
programme report leads to every framework."""

from __future__ import annotations

import io

from django.test import Client
from openpyxl import load_workbook

from courses.models import Indicator, IndicatorPeriod, Result
from participants.reports import figures as fig
from tests.results.conftest import ALL


def _client(user, language="en"):
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def _build(client, programme):
    """Staff build one outcome with an indicator and a target through the pages."""
    response = client.post(
        f"/results/programmes/{programme.pk}/results/new/",
        {"level": 2, "title_en": "Line ministries apply industrial policy tools", "position": 0},
    )
    assert response.status_code == 302 and response["Location"] == f"/results/programmes/{programme.pk}/"
    outcome = Result.objects.get(title_en="Line ministries apply industrial policy tools")
    assert (outcome.programme_id, outcome.project_id) == (programme.pk, None)
    response = client.post(
        f"/results/results/{outcome.pk}/indicators/new/",
        {
            "title_en": "Officials trained across the PCP",
            "measure": 1,
            "ascending": "on",
            "source": "computed",
            "definition": "trained",
            "position": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()
    indicator = Indicator.objects.get(result=outcome)
    response = client.post(
        f"/results/indicators/{indicator.pk}/periods/new/",
        {
            "period_start": ALL[0].isoformat(),
            "period_end": ALL[1].isoformat(),
            "sex": "",
            "target_value": "4",
        },
    )
    assert response.status_code == 302, response.content.decode()
    return outcome, indicator


def test_staff_build_the_programmes_framework_and_an_officer_reads_it(framework, staff, officer):
    programme = framework["output"].programme
    _outcome, indicator = _build(_client(staff), programme)
    page = _client(officer).get(f"/results/programmes/{programme.pk}/").content.decode()
    # The programme's results only: the project's framework stays on its own page, linked.
    assert "Line ministries apply industrial policy tools" in page
    assert "Stronger industrial policy" not in page
    assert f'href="/results/projects/{framework["output"].project_id}/"' in page
    # The same definition as everywhere: the programme report's trained officials.
    trained = fig.programme_figures(fig.ReportFilters(date_from=ALL[0], date_to=ALL[1])).trained
    row = page.split(f'id="progress-{indicator.pk}"')[1].split("</tr>")[1]
    assert f'<span class="value">{trained.total}</span>' in row
    assert "New result" not in page  # an officer reads
    workbook = load_workbook(
        io.BytesIO(
            b"".join(
                _client(officer).get(f"/results/programmes/{programme.pk}/progress.xlsx").streaming_content
            )
        )
    )
    values = [cell for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "Officials trained across the PCP" in values


def test_a_programme_target_outside_its_years_is_refused_on_its_field(framework, staff):
    programme = framework["output"].programme
    client = _client(staff)
    _outcome, indicator = _build(client, programme)
    before = IndicatorPeriod.objects.count()
    response = client.post(
        f"/results/indicators/{indicator.pk}/periods/new/",
        {
            "period_start": f"{programme.end_year + 1}-01-01",
            "period_end": f"{programme.end_year + 1}-12-31",
            "sex": "",
            "target_value": "4",
        },
    )
    assert response.status_code == 400
    assert "outside the programme&#x27;s years" in response.content.decode()
    assert IndicatorPeriod.objects.count() == before


def test_the_programme_report_leads_to_every_framework_and_the_page_reads_in_khmer(framework, officer):
    programme = framework["output"].programme
    report = _client(officer).get("/reports/").content.decode()
    assert f'href="/results/programmes/{programme.pk}/"' in report
    assert f'href="/results/projects/{framework["output"].project_id}/"' in report
    response = _client(officer, "km").get(f"/results/programmes/{programme.pk}/")
    assert response.status_code == 200 and 'lang="km"' in response.content.decode()
    assert "The programme has no results of its own yet." not in response.content.decode()


def test_an_officer_cannot_add_to_the_programmes_framework(framework, officer):
    programme = framework["output"].programme
    response = _client(officer).post(
        f"/results/programmes/{programme.pk}/results/new/", {"level": 2, "title_en": "x", "position": 0}
    )
    assert response.status_code == 403
    assert not Result.objects.filter(title_en="x").exists()
