"""Loading the public record: what is known, what stays unknown, and idempotence."""

import datetime

import pytest
from django.core.management import call_command

from courses.models import Course, Programme, Project
from courses.public_record import load_public_record
from ministries.models import Ministry, MinistryName

pytestmark = pytest.mark.django_db


def _snapshot():
    rows = []
    for model in (Programme, Project, Course, Ministry, MinistryName):
        rows.extend(model.objects.order_by("pk").values())
    return rows


def test_loads_the_programme_project_and_four_courses(public_record):
    programme = Programme.objects.get()
    assert programme.start_year == 2018 and programme.end_year == 2023
    assert programme.joint_declaration_date == datetime.date(2017, 11, 27)
    assert programme.revised_document_date == datetime.date(2020, 12, 10)
    assert any("tourism" in area.lower() for area in programme.focus_areas)
    project = Project.objects.get()
    assert project.title.startswith("Support to the Royal Government of Cambodia")
    assert "Korea" in project.donor
    courses = {c.number: c for c in Course.objects.all()}
    assert sorted(courses) == [1, 2, 3, 4]
    assert courses[1].start_date == datetime.date(2019, 7, 16) and "Kep" in courses[1].venue
    assert courses[2].reported_participants == 40
    assert courses[3].reported_participants == 23
    assert courses[3].start_date == datetime.date(2020, 2, 25) and "Kampong Thom" in courses[3].venue
    assert "Republic of Korea" in courses[3].partners


def test_course_four_stays_unknown_rather_than_invented(public_record):
    course = Course.objects.get(number=4)
    assert course.title == "" and course.venue == ""
    assert course.start_date is None and course.reported_participants is None
    assert course.source_notes["record"].startswith("No public record")


def test_each_fact_keeps_its_source(public_record):
    course = Course.objects.get(number=3)
    assert any("unido.org" in url for url in course.source_for("start_date"))
    ministry = Ministry.objects.get(code="misti")
    assert ministry.source_for("name_km")
    assert MinistryName.objects.get(ministry=ministry).source_url.startswith("http")


def test_loads_ministries_with_khmer_names_and_dated_renames(public_record):
    assert Ministry.objects.count() == 32  # 33 entities, MIH folded into MISTI as its former name
    assert Ministry.objects.get(acronym="MEF").name_km == "ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ"
    assert not Ministry.objects.filter(acronym="MIH").exists()
    inspection = Ministry.objects.get(code="moinsp")
    assert (
        inspection.display_name_on(datetime.date(2020, 1, 1))
        == "Ministry of National Assembly-Senate Relations and Inspection"
    )
    mime = Ministry.objects.get(code="mime")
    assert mime.dissolved_on == datetime.date(2013, 11, 12)
    assert set(mime.successors.values_list("code", flat=True)) == {"misti", "mme"}


def test_loading_twice_changes_nothing(public_record):
    before = _snapshot()
    report = load_public_record()
    assert not report.changed
    assert report.kept_edits == []
    assert _snapshot() == before


def test_loader_never_overwrites_a_record_staff_have_edited(public_record):
    course = Course.objects.get(number=4)
    course.title = "Industrial policy monitoring (entered by MIH staff)"
    course.venue = "Siem Reap"
    course.save()
    edited_at = Course.objects.get(pk=course.pk).updated_at

    report = load_public_record()

    course.refresh_from_db()
    assert course.title == "Industrial policy monitoring (entered by MIH staff)"
    assert course.venue == "Siem Reap"
    assert course.updated_at == edited_at
    assert report.kept_edits == ["course:4"]


def test_loader_fills_a_database_where_rows_were_deleted(public_record):
    Course.objects.filter(number=4).delete()
    report = load_public_record()
    assert report.created == ["course:4"]


def test_command_prints_a_summary(capsys, db):
    call_command("load_public_record")
    call_command("load_public_record")
    out = capsys.readouterr().out
    assert "0 created, 0 updated" in out.splitlines()[-1]
