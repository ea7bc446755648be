"""The synthetic demo data set: clearly labelled (is_demo) and never mixed with the public record.

Every row is made through the same services as real data, so the demo exercises the real rules.
`remove_demo_data` deletes exactly the rows flagged is_demo, and nothing else.
"""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.utils import timezone

from courses.models import Course, Session
from courses.services import session_create
from ministries.models import Ministry
from participants.models import (
    Attendance,
    AttendanceStatus,
    Enrollment,
    EnrolmentRollup,
    Official,
    SessionRollup,
    Sex,
)
from participants.services import AttendanceRow, attendance_record_many, enrollment_create, official_create

FAMILY_NAMES = [
    ("Sok", "សុខ"),
    ("Chan", "ចាន់"),
    ("Kim", "គីម"),
    ("Heng", "ហេង"),
    ("Ly", "លី"),
    ("Chea", "ជា"),
    ("Keo", "កែវ"),
    ("Meas", "មាស"),
    ("Noun", "នួន"),
    ("Pich", "ពេជ្រ"),
    ("Phan", "ផាន"),
    ("Seng", "សេង"),
    ("Touch", "ទូច"),
    ("Ouk", "អ៊ុក"),
    ("Vann", "វ៉ាន់"),
    ("Yim", "យឹម"),
    ("Long", "ឡុង"),
    ("Hem", "ហែម"),
]
GIVEN_NAMES = [
    ("Dara", "ដារ៉ា", Sex.MALE),
    ("Sophea", "សុភា", Sex.FEMALE),
    ("Sreymom", "ស្រីមុំ", Sex.FEMALE),
    ("Vannak", "វណ្ណៈ", Sex.MALE),
    ("Bopha", "បុប្ផា", Sex.FEMALE),
    ("Rithy", "រិទ្ធី", Sex.MALE),
    ("Chanthou", "ចន្ធូ", Sex.FEMALE),
    ("Vichea", "វិជ្ជា", Sex.MALE),
    ("Sreyneang", "ស្រីនាង", Sex.FEMALE),
    ("Piseth", "ពិសិដ្ឋ", Sex.MALE),
    ("Kunthea", "គន្ធា", Sex.FEMALE),
    ("Samnang", "សំណាង", Sex.MALE),
    ("Malis", "ម្លិះ", Sex.FEMALE),
    ("Visal", "វិសាល", Sex.MALE),
    ("Leakhena", "លក្ខិណា", Sex.FEMALE),
    ("Sokha", "សុខា", Sex.OTHER),
]
POSITIONS = [
    "Deputy Director",
    "Chief of Office",
    "Deputy Chief of Office",
    "Technical Officer",
    "Policy Analyst",
    "Director of Department",
    "Statistician",
    "Standards Officer",
]
MINISTRY_CODES = ["misti", "mef", "maff", "moc", "mop", "mlvt", "mme", "moe", "isc", "cdc", "nis", "mot"]

# Sessions per course: (day offset from the course start, title). Courses 1-3 follow the public
# dates; course 4 has no public record, so its demo sessions sit in the near future, labelled demo.
SESSION_PLAN = {
    1: [
        "Executive briefing and course opening",
        "Competitive Industrial Performance (CIP) analysis",
        "EQuIP toolbox: benchmarking trade performance",
        "Group work and closing",
    ],
    2: ["Global value chains: concepts and data", "Policies for local firms in global value chains"],
    3: [
        "Quality infrastructure systems and good governance",
        "Standards and metrology for the 4IR",
        "Panel: readying Cambodia's QI system",
    ],
    4: [
        "Demo session: industrial policy review (part 1)",
        "Demo session: industrial policy review (part 2)",
        "Demo session: monitoring and evaluation",
    ],
}
PARTICIPANTS = {1: 18, 2: 30, 3: 23, 4: 20}
# A cohort nominated for the whole series, as ministries do: they are enrolled in every course, so
# the series page has officials who complete it (and some who fall short); the rest of each course
# is drawn from the other officials.
SERIES_COHORT = 12


def _pick_status(rng: random.Random) -> str:
    return rng.choices(
        [AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT],
        weights=[78, 9, 7, 6],
    )[0]


@transaction.atomic
def load_demo_data(*, today: datetime.date | None = None, seed: int = 2020) -> dict[str, int]:
    """Create the demo set unless it exists. Returns counts of what was created."""
    if Official.objects.filter(is_demo=True).exists():
        return {}
    rng = random.Random(seed)
    today = today or datetime.date.today()
    ministries = list(Ministry.objects.filter(code__in=MINISTRY_CODES).order_by("code"))
    courses = {c.number: c for c in Course.objects.filter(reference_key__startswith="course:")}
    if not ministries or not courses:
        raise RuntimeError("Load the public record first: python manage.py load_public_record")

    officials: list[Official] = []
    needed = max(PARTICIPANTS.values()) + 25
    for index in range(needed):
        family, family_km = FAMILY_NAMES[index % len(FAMILY_NAMES)]
        given, given_km, sex = GIVEN_NAMES[(index * 7) % len(GIVEN_NAMES)]
        officials.append(
            official_create(
                family_name=family,
                given_name=given,
                name_km=f"{family_km} {given_km}",
                sex=sex,
                position=rng.choice(POSITIONS),
                ministry=ministries[index % len(ministries)],
                email=f"{given.lower()}.{family.lower()}.{index + 1}@demo.pcp-portal.invalid",
                phone=f"+855 12 {100000 + index * 37:06d}"[:16],
                preferred_language="km" if index % 3 else "en",
                is_demo=True,
            )
        )

    counts = {"officials": len(officials), "sessions": 0, "enrollments": 0, "attendance": 0}
    phnom_penh = timezone.get_default_timezone()  # settings.TIME_ZONE: sessions start at 8:30 local time
    for number, titles in SESSION_PLAN.items():
        course = courses.get(number)
        if course is None:
            continue
        start = course.start_date or (today + datetime.timedelta(days=2))
        sessions = []
        for day, title in enumerate(titles):
            begins = datetime.datetime.combine(
                start + datetime.timedelta(days=day), datetime.time(8, 30), tzinfo=phnom_penh
            )
            sessions.append(
                session_create(
                    course=course,
                    title=title,
                    starts_at=begins,
                    ends_at=begins + datetime.timedelta(hours=8),
                    venue=course.venue or "MISTI, Phnom Penh (demo)",
                    facilitators="UNIDO (demo)",
                    is_demo=True,
                )
            )
        counts["sessions"] += len(sessions)
        enrolled_on = start - datetime.timedelta(days=14)
        cohort, others = officials[:SERIES_COHORT], officials[SERIES_COHORT:]
        chosen = cohort + rng.sample(others, PARTICIPANTS[number] - len(cohort))
        registers: dict[Session, list[AttendanceRow]] = {session: [] for session in sessions}
        for official in chosen:
            enrollment = enrollment_create(
                official=official, course=course, enrolled_on=enrolled_on, is_demo=True
            )
            counts["enrollments"] += 1
            for session in sessions:
                if session.starts_at.date() >= today:
                    continue  # the future has no attendance yet
                registers[session].append(AttendanceRow(enrollment=enrollment, status=_pick_status(rng)))
        for session, rows in registers.items():
            if rows:
                attendance_record_many(session=session, rows=rows, is_demo=True)
                counts["attendance"] += len(rows)
    return counts


@transaction.atomic
def remove_demo_data() -> dict[str, int]:
    """Delete every row flagged is_demo, children first. Public-record rows are untouched."""
    # Their rollups first, so the counts below are the demo rows' own (not the cascaded rollups).
    SessionRollup.objects.filter(session__is_demo=True).delete()
    EnrolmentRollup.objects.filter(enrollment__is_demo=True).delete()
    counts = {
        "attendance": Attendance.objects.filter(is_demo=True).delete()[0],
        "enrollments": Enrollment.objects.filter(is_demo=True).delete()[0],
        "sessions": Session.objects.filter(is_demo=True).delete()[0],
        "officials": Official.objects.filter(is_demo=True).delete()[0],
    }
    return counts
