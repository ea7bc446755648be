"""factory_boy factories for the domain. Rows that have a service are made through it."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from courses.models import Course, Programme, Project, Session
from ministries.models import Department, Ministry
from participants.models import Attendance, AttendanceStatus, Enrollment, Official, Sex
from participants.services import attendance_record, enrollment_create


class MinistryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ministry
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"min{n}")
    name_en = factory.Sequence(lambda n: f"Ministry of Test Affairs {n}")
    name_km = factory.Sequence(lambda n: f"ក្រសួងសាកល្បង {n}")
    acronym = factory.Sequence(lambda n: f"MTA{n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    ministry = factory.SubFactory(MinistryFactory)
    name_en = factory.Sequence(lambda n: f"Department {n}")


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"Test programme {n}")
    country = "Cambodia"
    start_year = 2018
    end_year = 2023


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    programme = factory.SubFactory(ProgrammeFactory)
    title = factory.Sequence(lambda n: f"Test project {n}")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Course on industrial policy {n}")
    venue = "Phnom Penh"
    start_date = datetime.date(2020, 2, 25)
    end_date = datetime.date(2020, 2, 27)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Session {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    ends_at = factory.LazyAttribute(
        lambda s: s.starts_at + datetime.timedelta(hours=3) if s.starts_at else None
    )
    venue = "MISTI, Phnom Penh"


class OfficialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Official

    family_name = factory.Sequence(lambda n: f"Sok{n}")
    given_name = "Dara"
    name_km = factory.Sequence(lambda n: f"សុខ ដារ៉ា {n}")
    sex = Sex.FEMALE
    position = "Deputy Director"
    ministry = factory.SubFactory(MinistryFactory)
    email = factory.Sequence(lambda n: f"official{n}@example.gov.kh")
    phone = factory.Sequence(lambda n: f"+85512{n:06d}")
    preferred_language = "km"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    """Made through participants.services.enrollment_create, so the snapshot is real."""

    class Meta:
        model = Enrollment

    official = factory.SubFactory(OfficialFactory)
    course = factory.SubFactory(CourseFactory)
    enrolled_on = datetime.date(2020, 2, 1)

    @classmethod
    def _create(cls, model_class, official, course, enrolled_on, **kwargs):
        return enrollment_create(official=official, course=course, enrolled_on=enrolled_on, **kwargs)


class AttendanceFactory(factory.django.DjangoModelFactory):
    """Made through participants.services.attendance_record."""

    class Meta:
        model = Attendance

    enrollment = factory.SubFactory(EnrollmentFactory)
    session = factory.LazyAttribute(lambda a: SessionFactory(course=a.enrollment.course))
    status = AttendanceStatus.PRESENT

    @classmethod
    def _create(cls, model_class, enrollment, session, status, **kwargs):
        attendance, _ = attendance_record(enrollment=enrollment, session=session, status=status, **kwargs)
        return attendance
