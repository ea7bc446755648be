"""Enrolling from the course page: search in both scripts, walk-ins, twice refused, withdrawal kept."""

import pytest
from django.urls import reverse

from participants.models import Enrollment, Official
from tests.factories import CourseFactory, EnrollmentFactory, MinistryFactory, OfficialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory()


@pytest.fixture
def ministry():
    return MinistryFactory(
        name_en="Ministry of Industry, Science, Technology and Innovation",
        name_km="ក្រសួងឧស្សាហកម្ម",
        acronym="MISTI",
    )


@pytest.fixture
def sokha(ministry):
    return OfficialFactory(
        family_name="Chea",
        given_name="Sokha",
        name_km="ជា សុខា",
        ministry=ministry,
        email="sokha.chea@misti.gov.kh",
    )


def _search(client, course, query):
    response = client.get(reverse("course_detail", args=[course.pk]), {"q": query})
    return list(response.context["results"])


@pytest.mark.parametrize(
    "query", ["chea", "Sokha", "សុខា", "ឧស្សាហកម្ម", "misti", "sokha.chea@misti", "Chea Sokha"]
)
def test_search_finds_an_official_by_latin_or_khmer_name_ministry_or_email(
    staff_client, course, sokha, query
):
    OfficialFactory(family_name="Keo", given_name="Dara", name_km="កែវ ដារ៉ា")
    assert _search(staff_client, course, query) == [sokha]


def test_staff_enrols_an_official_and_enrolling_twice_is_refused(staff_client, staff, course, sokha):
    url = reverse("enrol", args=[course.pk])
    response = staff_client.post(url, {"official": sokha.pk, "q": "chea"})
    assert response.status_code == 302
    enrollment = Enrollment.objects.get(course=course, official=sokha)
    assert enrollment.ministry_acronym == "MISTI"
    assert enrollment.history.first().history_user == staff
    response = staff_client.post(url, {"official": sokha.pk})
    assert response.status_code == 400
    assert "is already enrolled in this course" in response.content.decode()
    assert Enrollment.objects.filter(course=course, official=sokha).count() == 1


def test_enrolling_an_official_who_does_not_exist_is_refused(staff_client, course):
    response = staff_client.post(reverse("enrol", args=[course.pk]), {"official": 999999})
    assert response.status_code == 400
    assert "This official does not exist." in response.content.decode()
    assert not Enrollment.objects.exists()


def test_staff_adds_a_walk_in_who_is_enrolled_at_once(staff_client, course, ministry):
    response = staff_client.post(
        reverse("walk_in", args=[course.pk]),
        {
            "family_name": "Lim",
            "given_name": "Bopha",
            "name_km": "លឹម បុប្ផា",
            "sex": "female",
            "ministry": ministry.pk,
            "position": "Officer",
            "email": "bopha.lim@misti.gov.kh",
            "preferred_language": "km",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("course_detail", args=[course.pk]))
    official = Official.objects.get(email="bopha.lim@misti.gov.kh")
    assert Enrollment.objects.get(official=official, course=course).position == "Officer"


def test_a_walk_in_with_a_bad_email_gets_a_message_next_to_the_field_and_saves_nothing(
    staff_client, course, ministry
):
    response = staff_client.post(
        reverse("walk_in", args=[course.pk]),
        {
            "family_name": "Lim",
            "sex": "female",
            "ministry": ministry.pk,
            "email": "not-an-email",
            "preferred_language": "km",
        },
    )
    assert response.status_code == 400
    assert response.context["walk_in_form"].errors["email"] == ["Enter a valid email address."]
    assert "Enter a valid email address." in response.content.decode()
    assert not Official.objects.filter(family_name="Lim").exists()


def test_a_walk_in_with_an_email_already_known_is_refused(staff_client, course, sokha, ministry):
    response = staff_client.post(
        reverse("walk_in", args=[course.pk]),
        {
            "family_name": "Chea",
            "sex": "male",
            "ministry": ministry.pk,
            "email": "SOKHA.CHEA@misti.gov.kh",
            "preferred_language": "km",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.context["walk_in_form"].errors["email"][0]
    assert Official.objects.count() == 1


def test_withdrawal_keeps_the_enrolment_and_its_history(staff_client, course, sokha):
    enrollment = EnrollmentFactory(course=course, official=sokha)
    staff_client.post(
        reverse("enrollment_withdraw", args=[enrollment.pk]), {"reason": "Moved to another post"}
    )
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.WITHDRAWN
    assert enrollment.withdrawal_reason == "Moved to another post"
    assert enrollment.history.count() == 2
    html = staff_client.get(reverse("course_detail", args=[course.pk])).content.decode()
    assert "Withdrawn" in html and "Moved to another post" in html
    staff_client.post(reverse("enrollment_reinstate", args=[enrollment.pk]))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ENROLLED


def test_officer_cannot_enrol_or_withdraw(officer_client, course, sokha):
    enrollment = EnrollmentFactory(course=course)
    assert officer_client.post(reverse("enrol", args=[course.pk]), {"official": sokha.pk}).status_code == 403
    assert officer_client.post(reverse("enrollment_withdraw", args=[enrollment.pk])).status_code == 403
    assert not Enrollment.objects.filter(official=sokha).exists()
    enrollment.refresh_from_db()
    assert enrollment.is_active
