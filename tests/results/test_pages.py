"""The progress page, the editing pages and the workbook, as officers and staff use them."""

from __future__ import annotations

import datetime
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from courses.models import IndicatorPeriod, Result
from participants.models import Attendance
from tests.factories import AttendanceFactory, EnrollmentFactory, OfficialFactory


def _client(user, language="en"):
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def test_the_officer_reads_baseline_target_actual_percent_status_and_footnotes(framework, officer):
    project = framework["output"].project
    page = _client(officer).get(f"/results/projects/{project.pk}/").content.decode()
    row = page.split(f'id="progress-{framework["trained"].pk}"')[1].split("</tr>")[1]
    assert 'data-period="2021-01-01/2021-12-31"' in row
    assert '<td class="num target">4.00</td>' in row
    assert '<td class="num actual"><span class="value">3</span>' in row
    assert "75.0 %" in row
    assert "status-on_track" in row
    assert '<td class="num women">2.00 / 2</td>' in row
    assert "Officials trained: distinct officials who attended at least one held session." in page
    assert "Edit indicator" not in page  # an officer reads
    assert f'id="chart-indicator-{framework["trained"].pk}"' in page  # target beside actual, drawn


def test_the_page_reads_in_khmer(framework, officer):
    project = framework["output"].project
    response = _client(officer, "km").get(f"/results/projects/{project.pk}/")
    assert response.status_code == 200
    assert 'lang="km"' in response.content.decode()


def test_staff_add_a_result_and_a_loop_is_refused_with_its_message(framework, staff):
    project = framework["output"].project
    client = _client(staff)
    response = client.post(
        f"/results/projects/{project.pk}/results/new/",
        {"level": 1, "parent": framework["outcome"].pk, "title_en": "Guides published", "position": 2},
    )
    assert response.status_code == 302
    assert Result.objects.filter(title_en="Guides published", parent=framework["outcome"]).exists()
    impact = framework["impact"]
    response = client.post(
        f"/results/results/{impact.pk}/edit/",
        {"level": 3, "parent": framework["output"].pk, "title_en": "Renamed", "position": 0},
    )
    assert response.status_code == 400
    assert "cannot contribute to itself" in response.content.decode()
    impact.refresh_from_db()
    assert (impact.title_en, impact.parent_id) == ("Stronger industrial policy", None)


def test_a_target_above_100_percent_or_outside_the_project_is_refused_on_its_field(framework, staff):
    client = _client(staff)
    url = f"/results/indicators/{framework['women_share'].pk}/periods/new/"
    before = IndicatorPeriod.objects.count()
    response = client.post(
        url, {"period_start": "2021-01-01", "period_end": "2021-06-30", "target_value": "101"}
    )
    assert response.status_code == 400
    assert "A percentage lies between 0 and 100." in response.content.decode()
    response = client.post(
        url, {"period_start": "2030-01-01", "period_end": "2030-06-30", "target_value": "50"}
    )
    assert "outside the project" in response.content.decode()
    response = client.post(
        url, {"period_start": "2021-01-01", "period_end": "2022-12-31", "target_value": "50"}
    )
    assert response.status_code == 400  # the same period twice
    assert IndicatorPeriod.objects.count() == before
    response = client.post(
        url, {"period_start": "2021-01-01", "period_end": "2021-06-30", "target_value": "45"}
    )
    assert response.status_code == 302
    period = IndicatorPeriod.objects.get(
        indicator=framework["women_share"], period_end=datetime.date(2021, 6, 30)
    )
    assert period.history.get().history_user == staff


def test_an_officer_cannot_change_the_framework(framework, officer):
    response = _client(officer).post(
        f"/results/results/{framework['impact'].pk}/edit/", {"level": 3, "title_en": "Hijacked"}
    )
    assert response.status_code == 403
    framework["impact"].refresh_from_db()
    assert framework["impact"].title_en == "Stronger industrial policy"


def test_the_workbook_has_a_sheet_per_level_and_the_definitions(framework, officer):
    project = framework["output"].project
    response = _client(officer).get(f"/results/projects/{project.pk}/progress.xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["Impact", "Outcome", "Output", "Definitions"]
    rows = list(workbook["Output"].iter_rows(min_row=2, values_only=True))
    trained_2021 = next(r for r in rows if r[1] == "Officials trained" and r[5].year == 2021)
    assert trained_2021[7:15] == (4, 3, 75, "On track", 2, 2, 2, 1)
    definitions = dict(workbook["Definitions"].iter_rows(min_row=2, values_only=True))
    assert definitions["Attendance rate"].startswith("Attendance rate: sessions attended")


def test_staff_enter_an_actual_with_its_note_and_attachment(framework, staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = f"/results/indicators/{framework['policies'].pk}/periods/new/"
    evidence = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4 minutes", content_type="application/pdf")
    response = _client(staff).post(
        url,
        {
            "period_start": "2022-01-01",
            "period_end": "2022-06-30",
            "target_value": "1",
            "actual_value": "1",
            "actual_note": "Steering committee minutes, 3 June 2022",
            "actual_evidence": evidence,
        },
    )
    assert response.status_code == 302
    period = IndicatorPeriod.objects.get(
        indicator=framework["policies"], period_end=datetime.date(2022, 6, 30)
    )
    assert period.actual_evidence.read() == b"%PDF-1.4 minutes"
    assert period.actual_note.startswith("Steering committee")


def test_the_progress_page_asks_as_many_queries_for_200_attendance_rows_as_for_the_cast(
    framework, world, officer
):
    client = _client(officer)
    url = f"/results/projects/{framework['output'].project.pk}/"
    client.get(url)  # the session and the translations, loaded once

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = Attendance.objects.count()
    before = queries()
    for n in range(47):
        enrolment = EnrollmentFactory(
            official=OfficialFactory(sex="female" if n % 2 else "male", ministry=world["moc"]),
            course=world["a"],
            enrolled_on=datetime.date(2021, 1, 1),
        )
        for session in world["a_sessions"]:
            AttendanceFactory(enrollment=enrolment, session=session, status="present")
    assert small < 20 and Attendance.objects.count() >= 200
    assert queries() == before
