"""A small series with every status worked out by hand in `EXPECTED` below.

One project, three courses: C1 (default threshold 75 %) with 4 held sessions, C2 (threshold 50 %)
with 2 held sessions, C3 with one session still to come (not held: it counts against nobody).

    official  sex     first enrolment's ministry  C1: s1 s2 s3 s4     C2: s1 s2     C3
    a         female  MIH (2019; MISTI since)     P  P  L  A  3/4 ✓   P  A  1/2 ✓  –
    b         male    MISTI                       P  P  A  A  2/4 ✗   P  P  2/2 ✓  –
    c         female  MOC                         P  P  P  P  4/4 ✓   –             enrolled
    d         other   MOC                         P, then withdrew    –             –
    e         male    MOC                         –                   –  –  0/2 ✗   –

Default rule (every course held: C1 and C2): a completes the series (2 of 2), b and c complete
one, e none; d withdrew from everything, so d is in the matrix but not in the figures.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ministries.models import MinistryName
from participants.services import enrollment_withdraw
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    SessionFactory,
)


def _at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


CODES = {"P": "present", "L": "late", "E": "excused", "A": "absent"}


@pytest.fixture
def series(db):
    misti = MinistryFactory(
        code="misti-series",
        name_en="Ministry of Industry, Science, Technology and Innovation",
        name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
        acronym="MISTI",
    )
    MinistryName.objects.create(
        ministry=misti,
        name_en="Ministry of Industry and Handicraft",
        name_km="ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម",
        acronym="MIH",
        valid_to=datetime.date(2020, 3, 26),
    )
    moc = MinistryFactory(
        code="moc-series", name_en="Ministry of Commerce", name_km="ក្រសួងពាណិជ្ជកម្ម", acronym="MOC"
    )
    c1 = CourseFactory(number=1, title="Industrial policy", start_date=datetime.date(2019, 6, 3))
    project = c1.project
    c2 = CourseFactory(project=project, number=2, title="Quality infrastructure", completion_threshold="0.50")
    c3 = CourseFactory(project=project, number=3, title="Industrial statistics")
    s1 = [
        SessionFactory(course=c1, title=f"C1-{i}", starts_at=_at(datetime.date(2021, 3, i)))
        for i in (1, 2, 3, 4)
    ]
    s2 = [
        SessionFactory(course=c2, title=f"C2-{i}", starts_at=_at(datetime.date(2022, 5, 9 + i)))
        for i in (1, 2)
    ]
    future = SessionFactory(course=c3, title="C3-1", starts_at=timezone.now() + datetime.timedelta(days=40))
    a = OfficialFactory(
        family_name="Chan", given_name="Sreymom", name_km="ចាន់ ស្រីមុំ", sex="female", ministry=misti
    )
    b = OfficialFactory(family_name="Keo", given_name="Dara", name_km="កែវ ដារា", sex="male", ministry=misti)
    c = OfficialFactory(family_name="Sok", given_name="Chenda", name_km="សុខ ចិន្តា", sex="female", ministry=moc)
    d = OfficialFactory(family_name="Touch", given_name="Vanna", sex="other", ministry=moc)
    e = OfficialFactory(family_name="=HYPERLINK(1)", given_name="<b>x</b>", sex="male", ministry=moc)
    enrol = {
        ("a", 1): EnrollmentFactory(official=a, course=c1, enrolled_on=datetime.date(2019, 6, 1)),
        ("a", 2): EnrollmentFactory(official=a, course=c2, enrolled_on=datetime.date(2022, 1, 1)),
        ("b", 1): EnrollmentFactory(official=b, course=c1, enrolled_on=datetime.date(2021, 1, 1)),
        ("b", 2): EnrollmentFactory(official=b, course=c2, enrolled_on=datetime.date(2022, 1, 1)),
        ("c", 1): EnrollmentFactory(official=c, course=c1, enrolled_on=datetime.date(2021, 1, 1)),
        ("c", 3): EnrollmentFactory(official=c, course=c3, enrolled_on=datetime.date(2023, 1, 1)),
        ("d", 1): EnrollmentFactory(official=d, course=c1, enrolled_on=datetime.date(2021, 1, 1)),
        ("e", 2): EnrollmentFactory(official=e, course=c2, enrolled_on=datetime.date(2022, 1, 1)),
    }
    marks = {
        ("a", 1): "PPLA",
        ("a", 2): "PA",
        ("b", 1): "PPAA",
        ("b", 2): "PP",
        ("c", 1): "PPPP",
        ("d", 1): "P",
    }
    for (who, number), codes in marks.items():
        sessions = s1 if number == 1 else s2
        for session, code in zip(sessions, codes, strict=False):
            AttendanceFactory(enrollment=enrol[(who, number)], session=session, status=CODES[code])
    enrollment_withdraw(enrollment=enrol[("d", 1)], reason="moved post")
    return {
        "project": project,
        "courses": [c1, c2, c3],
        "future": future,
        "officials": {"a": a, "b": b, "c": c, "d": d, "e": e},
        "misti": misti,
        "moc": moc,
        "enrolments": enrol,
    }


# Worked out by hand from the table above. Per official: per course (enrolled, withdrawn,
# attended, held, completed), then courses completed and whether the series is completed.
EXPECTED = {
    "a": {1: (True, False, 3, 4, True), 2: (True, False, 1, 2, True), "done": 2, "series": True},
    "b": {1: (True, False, 2, 4, False), 2: (True, False, 2, 2, True), "done": 1, "series": False},
    "c": {1: (True, False, 4, 4, True), 3: (True, False, 0, 0, False), "done": 1, "series": False},
    "d": {1: (False, True, 0, 0, False), "done": 0, "series": False},
    "e": {2: (True, False, 0, 2, False), "done": 0, "series": False},
    # officials in the series (d withdrew from all) and who completed it: women, men, other
    "officials": (2, 2, 0),
    "completed": (1, 0, 0),
    # by the ministry named on the first enrolment: officials, completed (women, men, other)
    "ministries": {
        ("Ministry of Industry and Handicraft", "MIH"): ((1, 0, 0), (1, 0, 0)),
        ("Ministry of Industry, Science, Technology and Innovation", "MISTI"): ((0, 1, 0), (0, 0, 0)),
        ("Ministry of Commerce", "MOC"): ((1, 1, 0), (0, 0, 0)),
    },
    # with "1 of the 3 courses": a, b and c complete the series
    "one_of_three": (2, 1, 0),
}
