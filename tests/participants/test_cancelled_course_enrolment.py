"""Nobody can be enrolled in a cancelled course, whichever door they come through."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from courses.services import course_cancel
from participants.models import Enrollment, Official
from participants.services import enrollment_create
from tests.factories import CourseFactory, MinistryFactory, OfficialFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cancelled_course(staff):
    course = CourseFactory()
    course_cancel(course=course, reason="The donor moved the budget", changed_by=staff)
    return course


def test_the_service_refuses_an_enrolment_in_a_cancelled_course(cancelled_course):
    with pytest.raises(ValidationError) as error:
        enrollment_create(official=OfficialFactory(), course=cancelled_course)
    assert "cancelled" in str(error.value)
    assert not Enrollment.objects.exists()


def test_the_course_page_offers_no_enrolment_and_a_walk_in_post_creates_nobody(
    staff_client, cancelled_course
):
    page = staff_client.get(reverse("course_detail", args=[cancelled_course.pk])).content.decode()
    assert "no one can be enrolled in it" in page
    assert reverse("walk_in", args=[cancelled_course.pk]) not in page

    before = Official.objects.count()
    response = staff_client.post(
        reverse("walk_in", args=[cancelled_course.pk]),
        {
            "family_name": "Sok",
            "given_name": "Dara",
            "name_km": "សុខ ដារ៉ា",
            "sex": "male",
            "ministry": MinistryFactory().pk,
            "email": "sok.dara@example.gov.kh",
            "preferred_language": "km",
        },
    )
    assert response.status_code == 400  # the course page again, with the reason beside the form
    assert "no one can be enrolled in it" in response.content.decode()
    assert Official.objects.count() == before  # the walk-in is not half-created
    assert not Enrollment.objects.exists()
