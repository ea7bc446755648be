"""Database constraints on programmes, courses and sessions."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from courses.models import Course, Programme, Session
from courses.services import session_create
from tests.factories import CourseFactory, ProjectFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_session_that_ends_before_it_starts_is_refused_by_the_database():
    session = SessionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.filter(pk=session.pk).update(
            ends_at=session.starts_at - datetime.timedelta(minutes=1)
        )


def test_session_service_explains_an_end_before_the_start():
    course = CourseFactory()
    start = datetime.datetime(2020, 2, 25, 8, 30, tzinfo=datetime.UTC)
    with pytest.raises(ValidationError) as error:
        session_create(
            course=course, title="Backwards", starts_at=start, ends_at=start - datetime.timedelta(hours=1)
        )
    assert "end" in str(error.value).lower()
    assert not Session.objects.exists()


def test_two_courses_cannot_share_a_number_in_one_project():
    project = ProjectFactory()
    CourseFactory(project=project, number=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.create(project=project, number=3)


def test_course_that_ends_before_it_starts_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        CourseFactory(start_date=datetime.date(2020, 2, 27), end_date=datetime.date(2020, 2, 25))


def test_programme_period_must_run_forwards():
    with pytest.raises(IntegrityError), transaction.atomic():
        Programme.objects.create(name="Backwards", country="Cambodia", start_year=2023, end_year=2018)


def test_completion_threshold_is_a_share():
    with pytest.raises(IntegrityError), transaction.atomic():
        CourseFactory(completion_threshold=2)
