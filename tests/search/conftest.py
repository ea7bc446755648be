"""The search tests' cast: officials whose names are written every way people write them, courses,
sessions, and a ministry with a former name."""

import datetime

import pytest

from ministries.models import MinistryName
from tests.factories import CourseFactory, MinistryFactory, OfficialFactory, SessionFactory


@pytest.fixture
def cast(db):
    misti = MinistryFactory(
        code="misti",
        name_en="Ministry of Industry, Science, Technology and Innovation",
        name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
        acronym="MISTI",
    )
    MinistryName.objects.create(
        ministry=misti,
        name_en="Ministry of Industry and Handicraft",
        name_km="ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម",
        acronym="MIH",
        valid_to=datetime.date(2020, 3, 30),
    )
    mef = MinistryFactory(
        code="mef", name_en="Ministry of Economy and Finance", name_km="ក្រសួងសេដ្ឋកិច្ច", acronym="MEF"
    )
    chan = OfficialFactory(
        family_name="Chan",
        given_name="Sophea",
        name_km="ចាន់ សុភា",
        ministry=misti,
        email="sophea.chan@misti.gov.kh",
        phone="+855 12 345 678",
    )
    # Typed with a zero-width space between the words and the vowel ោ as េ + ា (they look the same).
    sok = OfficialFactory(
        family_name="Sok",
        given_name="Dara",
        name_km="សុខ\u200bសោភា".replace("\u17c4", "\u17c1\u17b6"),
        ministry=mef,
        email="dara@mef.gov.kh",
        phone="097 765 4321",
    )
    khmer_only = OfficialFactory(
        family_name="", given_name="", name_km="ចាន់ធូ", ministry=mef, email="", phone=""
    )
    accented = OfficialFactory(
        family_name="Lê", given_name="Thu", name_km="", ministry=mef, email="", phone=""
    )
    course = CourseFactory(
        number=1, title="Industrial policy and strategy", topic="Diagnostics", venue="Phnom Penh"
    )
    other = CourseFactory(number=2, title="Quality infrastructure", topic="Standards", venue="Siem Reap")
    opening = SessionFactory(course=course, title="Opening: industrial diagnostics", venue="MISTI hall")
    SessionFactory(course=other, title="Metrology visit", venue="Institute of Standards")
    return {
        "misti": misti,
        "mef": mef,
        "chan": chan,
        "sok": sok,
        "khmer_only": khmer_only,
        "accented": accented,
        "course": course,
        "other": other,
        "opening": opening,
    }
