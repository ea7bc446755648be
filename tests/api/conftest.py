"""The API's cast: one key per role, clients that send them, and a small world to read."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from participants.models import AttendanceStatus
from pcp_portal.models import APIAccessKey
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    SessionFactory,
)

API = "/api/v1/"


@pytest.fixture(autouse=True)
def fresh_throttle_budget(django_db_blocker):
    # The counts are in the shared cache: Redis, or a database table on the embedded default.
    with django_db_blocker.unblock():
        cache.clear()
    yield
    with django_db_blocker.unblock():
        cache.clear()


def make_key(role: str, **extra) -> str:
    _api_key, key = APIAccessKey.objects.create_key(name=f"{role} system", role=role, **extra)
    return key


def key_client(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def clients(db):
    """A client per API role: anonymous, partner, unido_officer, mih_staff (each with its own key)."""
    return {
        "anonymous": key_client(None),
        "partner": key_client(make_key("partner")),
        "unido_officer": key_client(make_key("unido_officer")),
        "mih_staff": key_client(make_key("mih_staff")),
    }


@pytest.fixture
def partner_api(clients):
    return clients["partner"]


@pytest.fixture
def officer_api(clients):
    return clients["unido_officer"]


@pytest.fixture
def staff_api(clients):
    return clients["mih_staff"]


@pytest.fixture
def world(db):
    """Two courses; course A has two sessions, three enrolled officials and a recorded register."""
    misti = MinistryFactory(code="misti", name_en="Ministry of Industry, Science, Technology & Innovation")
    moc = MinistryFactory(code="moc", name_en="Ministry of Commerce")
    course_a = CourseFactory(title="Industrial policy")
    course_b = CourseFactory(project=course_a.project, title="Quality infrastructure")
    now = datetime.datetime(2020, 2, 25, 2, 0, tzinfo=datetime.UTC)
    sessions = [
        SessionFactory(course=course_a, title="Opening", starts_at=now),
        SessionFactory(course=course_a, title="Value chains", starts_at=now + datetime.timedelta(days=1)),
    ]
    other_session = SessionFactory(
        course=course_b, title="Standards", starts_at=now + datetime.timedelta(days=30)
    )
    officials = [
        OfficialFactory(
            family_name="Sok", given_name="Dara", name_km="សុខ ដារ៉ា", sex="female", ministry=misti
        ),
        OfficialFactory(family_name="Chan", given_name="Vibol", name_km="ចាន់ វិបុល", sex="male", ministry=moc),
        OfficialFactory(
            family_name="Keo", given_name="Sreymom", name_km="កែវ ស្រីមុំ", sex="female", ministry=moc
        ),
    ]
    enrollments = [EnrollmentFactory(official=o, course=course_a) for o in officials]
    outsider = OfficialFactory(family_name="Lim", given_name="Pisey", name_km="លីម ពិសី", ministry=misti)
    EnrollmentFactory(official=outsider, course=course_b)
    attendance = [
        AttendanceFactory(enrollment=enrollments[0], session=sessions[0], status=AttendanceStatus.PRESENT),
        AttendanceFactory(enrollment=enrollments[1], session=sessions[0], status=AttendanceStatus.ABSENT),
        AttendanceFactory(enrollment=enrollments[2], session=sessions[0], status=AttendanceStatus.LATE),
    ]
    return {
        "ministries": [misti, moc],
        "courses": [course_a, course_b],
        "sessions": sessions,
        "other_session": other_session,
        "officials": officials,
        "outsider": outsider,
        "enrollments": enrollments,
        "attendance": attendance,
    }


def make_staff_changes(world) -> dict:
    """What staff do between two syncs: change, add, withdraw, cancel and delete records."""
    from courses.services import session_cancel, session_create
    from participants.services import attendance_record, enrollment_withdraw

    session_a0, session_a1 = world["sessions"]
    attendance_record(enrollment=world["enrollments"][1], session=session_a0, status="excused")
    attendance_record(enrollment=world["enrollments"][0], session=session_a1, status="present")
    enrollment_withdraw(enrollment=world["enrollments"][2], reason="Left the ministry")
    session_cancel(session=world["other_session"], reason="Flooding")
    deleted_attendance = world["attendance"][2].pk
    world["attendance"][2].delete()
    return {
        "new_session": session_create(course=world["courses"][0], title="Site visit"),
        "newcomer": EnrollmentFactory(
            official=OfficialFactory(family_name="Heng"), course=world["courses"][0]
        ),
        "deleted_attendance": deleted_attendance,
    }


def assert_staff_changes_copied(copy: dict, world, changes: dict) -> None:
    assert copy["attendance"][world["attendance"][1].pk]["status"] == "excused"
    assert copy["enrollments"][world["enrollments"][2].pk]["status"] == "withdrawn"
    assert copy["sessions"][world["other_session"].pk]["status"] == "cancelled"
    assert changes["new_session"].pk in copy["sessions"] and changes["newcomer"].pk in copy["enrollments"]
    assert changes["deleted_attendance"] not in copy["attendance"]
