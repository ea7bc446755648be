"""An official's ministry must have existed on the enrolment's date: the course page, the API,
imports and the admin all go through enrollment_create, which refuses it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from participants.imports.plan import preview_import
from participants.models import Enrollment, Official
from participants.services import enrollment_create, enrollment_date
from tests.factories import CourseFactory, MinistryFactory, OfficialFactory

pytestmark = pytest.mark.django_db

DISSOLVED = datetime.date(2013, 11, 12)


@pytest.fixture
def dissolved():
    return MinistryFactory(name_en="Ministry of Dissolved Affairs", acronym="MDA", dissolved_on=DISSOLVED)


@pytest.fixture
def course_2020():
    return CourseFactory(start_date=datetime.date(2020, 2, 25), end_date=datetime.date(2020, 2, 27))


def test_an_enrolment_in_2020_refuses_a_ministry_dissolved_in_2013(dissolved, course_2020):
    official = OfficialFactory(ministry=dissolved)

    with pytest.raises(ValidationError) as refused:
        enrollment_create(official=official, course=course_2020, enrolled_on=datetime.date(2020, 2, 1))

    assert refused.value.message_dict["ministry"] == [
        "Ministry of Dissolved Affairs (MDA) was dissolved on Nov. 12, 2013, before Feb. 1, 2020: "
        "choose the ministry the official belonged to on that date."
    ]
    assert not Enrollment.objects.exists()


def test_a_ministry_is_refused_before_it_was_established_and_taken_on_its_first_day(course_2020):
    young = MinistryFactory(
        name_en="Ministry of New Affairs", acronym="", established_on=datetime.date(2021, 1, 1)
    )
    official = OfficialFactory(ministry=young)

    with pytest.raises(ValidationError) as refused:
        enrollment_create(official=official, course=course_2020, enrolled_on=datetime.date(2020, 12, 31))
    enrolled = enrollment_create(
        official=official, course=CourseFactory(), enrolled_on=datetime.date(2021, 1, 1)
    )

    assert "was established on Jan. 1, 2021, after Dec. 31, 2020" in refused.value.message_dict["ministry"][0]
    assert enrolled.ministry == young


def test_an_enrolment_entered_after_the_course_is_dated_when_the_course_began():
    over = CourseFactory(start_date=datetime.date(2020, 2, 25), end_date=datetime.date(2020, 2, 27))
    running = CourseFactory(start_date=datetime.date(2020, 2, 25), end_date=datetime.date(2020, 3, 27))
    today = datetime.date(2020, 3, 2)

    assert enrollment_date(over, today=today) == datetime.date(2020, 2, 25)
    assert enrollment_date(running, today=today) == today
    assert enrollment_date(CourseFactory(start_date=None, end_date=None), today=today) == today
    assert enrollment_create(official=OfficialFactory(), course=over).enrolled_on == datetime.date(
        2020, 2, 25
    )


def test_the_walk_in_form_offers_only_the_ministries_of_the_course_s_time(
    staff_client, dissolved, course_2020
):
    current = MinistryFactory(name_en="Ministry of Lasting Affairs")

    page = staff_client.get(reverse("course_detail", args=[course_2020.pk])).content.decode()

    assert "Ministry of Lasting Affairs" in page
    assert "Ministry of Dissolved Affairs" not in page
    assert current.pk


def test_a_forged_walk_in_with_a_dissolved_ministry_is_told_why_and_creates_no_one(
    staff_client, dissolved, course_2020
):
    response = staff_client.post(
        reverse("walk_in", args=[course_2020.pk]),
        {
            "family_name": "Keo",
            "given_name": "Sokha",
            "sex": "male",
            "ministry": dissolved.pk,
            "preferred_language": "km",
        },
    )

    assert response.status_code == 400
    assert response.context["walk_in_form"].errors["ministry"] == [
        "Ministry of Dissolved Affairs (MDA) was dissolved on Nov. 12, 2013, before Feb. 25, 2020: "
        "choose the ministry the official belonged to on that date."
    ]
    assert not Official.objects.filter(family_name="Keo").exists()


def test_the_api_refuses_an_enrolment_with_a_ministry_of_another_time(staff_client, dissolved, course_2020):
    official = OfficialFactory(ministry=dissolved)

    response = staff_client.post(
        "/api/v1/enrollments/",
        {"official": official.pk, "course": course_2020.pk, "enrolled_on": "2020-02-20"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "was dissolved on" in response.json()["ministry"][0]
    assert not Enrollment.objects.exists()


def test_an_enrolment_import_shows_the_refusal_in_the_preview(staff, dissolved, course_2020):
    OfficialFactory(ministry=dissolved, family_name="Keo", given_name="Vanna", email="known@example.gov.kh")
    data = (
        b"Ministry,Family name,Given name,E-mail,Enrolled on\n"
        b"MDA,Chan,Dara,,2020-02-20\n"
        b"MDA,Keo,Vanna,known@example.gov.kh,2020-02-20\n"
        b"MDA,Chan,Bopha,,2012-06-01\n"
    )

    batch = preview_import(
        kind="enrolments", filename="nominees.csv", data=data, user=staff, course=course_2020
    )

    assert [row["action"] for row in batch.rows] == ["error", "error", "create"]
    assert "was dissolved on" in batch.rows[0]["reason"]
    assert "was dissolved on" in batch.rows[1]["reason"]
