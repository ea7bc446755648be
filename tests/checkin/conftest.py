"""The check-in cast: a session that started ten minutes ago, with three enrolled officials (one
with a Khmer name only, one withdrawn) and an official of another course."""

import datetime

import pytest
from django.utils import timezone

from participants import services
from tests.factories import EnrollmentFactory, MinistryFactory, OfficialFactory, SessionFactory


@pytest.fixture
def ministry():
    return MinistryFactory(name_en="Ministry of Commerce", name_km="ក្រសួងពាណិជ្ជកម្ម", acronym="MoC")


@pytest.fixture
def session(ministry):
    return SessionFactory(title="Metrology", starts_at=timezone.now() - datetime.timedelta(minutes=10))


@pytest.fixture
def dara(session, ministry):
    official = OfficialFactory(
        family_name="Sok", given_name="Dara", name_km="សុខ ដារ៉ា", phone="012 345 678", ministry=ministry
    )
    return EnrollmentFactory(course=session.course, official=official)


@pytest.fixture
def sreymom(session, ministry):
    official = OfficialFactory(
        family_name="", given_name="", name_km="ចាន់ ស្រីមុំ", phone="+855 97 111 2222", ministry=ministry
    )
    return EnrollmentFactory(course=session.course, official=official)


@pytest.fixture
def withdrawn(session, ministry):
    official = OfficialFactory(family_name="Keo", given_name="Vanna", name_km="កែវ វណ្ណា", ministry=ministry)
    enrollment = EnrollmentFactory(course=session.course, official=official)
    return services.enrollment_withdraw(enrollment=enrollment, reason="posted abroad")


@pytest.fixture
def outsider(ministry):
    official = OfficialFactory(family_name="Sok", given_name="Dalin", name_km="សុខ ដាលីន", ministry=ministry)
    return EnrollmentFactory(official=official)


@pytest.fixture
def at(monkeypatch):
    """at(seconds): the clock the signer reads, that many seconds after the test began."""
    import time

    start = time.time()

    def shift(seconds: float) -> None:
        monkeypatch.setattr(time, "time", lambda: start + seconds)

    return shift
