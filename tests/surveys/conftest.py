"""A small cast for the survey tests: a course with three enrolled officials and a two-question
pre-test whose answers are scored by hand (TEST_POINTS)."""

from __future__ import annotations

import pytest

from participants.services import enrollment_create
from participants.surveys import services
from participants.surveys.models import Instrument, Question
from tests.factories import CourseFactory, OfficialFactory


def make_test(course, kind="pre", *, pre_test=None, anonymous=False, title="Knowledge test"):
    """Q1 single choice (2 points, B correct), Q2 multiple (3 points, A and C correct), Q3 scale, Q4 text."""
    instrument = services.instrument_create(
        course=course,
        kind=kind,
        title_en=title,
        title_km="តេស្តចំណេះដឹង",
        pre_test=pre_test,
        is_anonymous=anonymous,
    )
    services.question_add(
        instrument=instrument,
        type=Question.Type.SINGLE,
        text_en="Which ministry leads industrial policy?",
        text_km="ក្រសួងណាដឹកនាំគោលនយោបាយឧស្សាហកម្ម?",
        points=2,
        choices=[("MEF", "ក.ស.ហ.វ", False), ("MISTI", "ក.ឧ.ស.ប.ន", True), ("MoE", "ក.ប.ស", False)],
    )
    services.question_add(
        instrument=instrument,
        type=Question.Type.MULTIPLE,
        text_en="Which are SDG 9 targets?",
        text_km="គោលដៅ SDG 9 មួយណាខ្លះ?",
        points=3,
        choices=[
            ("Infrastructure", "ហេដ្ឋារចនាសម្ព័ន្ធ", True),
            ("Fisheries", "នេសាទ", False),
            ("Innovation", "នវានុវត្តន៍", True),
        ],
    )
    services.question_add(
        instrument=instrument,
        type=Question.Type.SCALE,
        text_en="How confident are you?",
        text_km="តើអ្នកមានទំនុកចិត្តប៉ុណ្ណា?",
    )
    services.question_add(
        instrument=instrument,
        type=Question.Type.TEXT,
        text_en="What will you apply?",
        text_km="តើអ្នកនឹងអនុវត្តអ្វី?",
        required=False,
    )
    return instrument


def answers_for(instrument, *, single: int, multiple: list[int], scale: int = 3, text: str = ""):
    """Form data choosing options by their position (1-based) in each question."""
    q1, q2, q3, q4 = instrument.questions.order_by("position")
    c1 = list(q1.choices.order_by("position"))
    c2 = list(q2.choices.order_by("position"))
    return {
        f"q{q1.pk}": [str(c1[single - 1].pk)],
        f"q{q2.pk}": [str(c2[n - 1].pk) for n in multiple],
        f"q{q3.pk}": [str(scale)],
        f"q{q4.pk}": [text],
    }


@pytest.fixture
def cast(db):
    course = CourseFactory()
    officials = [
        OfficialFactory(preferred_language="km", sex="female"),
        OfficialFactory(preferred_language="en", sex="male"),
        OfficialFactory(preferred_language="km", sex="female"),
    ]
    for official in officials:
        enrollment_create(official=official, course=course)
    return course, officials


__all__ = ["Instrument", "answers_for", "make_test"]


# The real components of the reminder tests: an SMTP server on loopback and a Celery worker process;
# and the fake Bot API of the Telegram tests.
from tests.reminders.conftest import celery_broker, celery_worker, smtp_server  # noqa: E402, F401
from tests.telegram.fake import bot_api  # noqa: E402, F401
