"""A course session with its printed sign-in sheet: officials in both scripts, one Khmer-only, one
withdrawn, enrolled before the MIH → MISTI rename of 26 March 2020 and signing in after it."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from participants import signin
from participants.models import Enrollment
from participants.services import enrollment_create, enrollment_withdraw, official_create
from tests.factories import CourseFactory, SessionFactory

PHNOM_PENH = zoneinfo.ZoneInfo("Asia/Phnom_Penh")

# (family, given, Khmer name, ministry code)
PEOPLE = [
    ("Sok", "Dara", "សុខ ដារ៉ា", "misti"),
    ("Chan", "Vuthy", "ចាន់ វុទ្ធី", "mef"),
    ("Keo", "Sreymom", "កែវ ស្រីមុំ", "moc"),
    ("", "", "ហេង សុភ័ក្ត្រ", "misti"),  # signs in Khmer only
    ("Lim", "Chanthou", "លឹម ចាន់ធូ", "mef"),
    ("Phan", "Sokunthea", "ផាន់ សុគន្ធា", "misti"),
]
WITHDRAWN = ("Meas", "Rith", "មាស រិទ្ធ", "moc")


@pytest.fixture
def ministries(public_record):
    from ministries.models import Ministry

    return {m.code: m for m in Ministry.objects.all()}


def make_session(ministries, people=PEOPLE, *, title="Metrology and quality infrastructure"):
    course = CourseFactory(title="Industrial policy and quality", title_km="គោលនយោបាយឧស្សាហកម្ម និងគុណភាព")
    session = SessionFactory(
        course=course,
        title=title,
        starts_at=datetime.datetime(2020, 4, 10, 8, 30, tzinfo=PHNOM_PENH),
        ends_at=datetime.datetime(2020, 4, 10, 12, 0, tzinfo=PHNOM_PENH),
        venue="Sokha Hotel, Phnom Penh",
    )
    for family, given, khmer, code in [*people, WITHDRAWN]:
        official = official_create(
            family_name=family, given_name=given, name_km=khmer, ministry=ministries[code]
        )
        enrolment = enrollment_create(official=official, course=course, enrolled_on=datetime.date(2020, 2, 1))
        if (family, given, khmer, code) == WITHDRAWN:
            enrollment_withdraw(enrollment=enrolment, reason="mission abroad")
    return session


@pytest.fixture
def sheet_session(ministries):
    return make_session(ministries)


@pytest.fixture
def codes(sheet_session):
    """Each enrolled official's code by family name (the Khmer-only one by Khmer name)."""
    return {
        row.official.family_name or row.official.name_km: row.code for row in signin.sheet_rows(sheet_session)
    }


def enrolment_of(session, name: str) -> Enrollment:
    return Enrollment.objects.get(course=session.course, official__family_name=name)
