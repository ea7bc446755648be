"""Staff build an instrument (English and Khmer side by side); one with answers is versioned."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from participants.surveys import services
from participants.surveys.models import Choice, Instrument, Question
from tests.factories import SessionFactory

from .conftest import answers_for, make_test

pytestmark = pytest.mark.django_db


def question_post(**extra):
    data = {
        "type": "single",
        "text_en": "Where is MISTI?",
        "text_km": "ក្រសួងនៅឯណា?",
        "points": "2",
        "required": "on",
    }
    data |= {"option_1_en": "Phnom Penh", "option_1_km": "ភ្នំពេញ", "option_1_correct": "on"}
    data |= {"option_2_en": "Siem Reap", "option_2_km": "សៀមរាប"}
    return data | extra


def test_staff_create_a_pre_test_and_add_a_question_in_both_languages(staff_client, cast):
    course, _officials = cast
    response = staff_client.post(
        reverse("course_surveys", args=[course.pk]),
        {"kind": "pre", "title_en": "Before the course", "title_km": "មុនវគ្គ"},
    )
    instrument = Instrument.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "survey_detail", args=[instrument.pk]
    )
    staff_client.post(reverse("survey_question_add", args=[instrument.pk]), question_post())
    question = Question.objects.get()
    assert (question.text_en, question.text_km, question.points) == ("Where is MISTI?", "ក្រសួងនៅឯណា?", 2)
    assert list(question.choices.values_list("text_en", "text_km", "is_correct")) == [
        ("Phnom Penh", "ភ្នំពេញ", True),
        ("Siem Reap", "សៀមរាប", False),
    ]
    page = staff_client.get(reverse("survey_detail", args=[instrument.pk])).content.decode()
    assert "Where is MISTI?" in page and "ក្រសួងនៅឯណា?" in page


def test_a_choice_question_without_two_options_or_a_correct_one_is_refused(staff_client, cast):
    course, _officials = cast
    instrument = services.instrument_create(course=course, kind="pre", title_en="T")
    url = reverse("survey_question_add", args=[instrument.pk])
    one_option = question_post(option_2_en="", option_2_km="")
    response = staff_client.post(url, one_option)
    assert (
        response.status_code == 400
        and "A choice question needs at least two options." in response.content.decode()
    )
    no_correct = question_post(option_1_correct="")
    response = staff_client.post(url, no_correct)
    assert "Mark at least one option as correct" in response.content.decode()
    khmer_only = question_post(option_3_km="ខ្មែរ")
    assert "Give the option in English too." in staff_client.post(url, khmer_only).content.decode()
    assert Question.objects.count() == 0


def test_feedback_needs_a_session_of_the_course_and_a_follow_up_its_months(staff_client, cast):
    course, _officials = cast
    url = reverse("course_surveys", args=[course.pk])
    response = staff_client.post(url, {"kind": "feedback", "title_en": "How was it?"})
    assert (
        response.status_code == 400 and "Session feedback asks about one session" in response.content.decode()
    )
    response = staff_client.post(url, {"kind": "follow_up", "title_en": "Six months on"})
    assert "Say how many months after the course" in response.content.decode()
    other_session = SessionFactory()
    response = staff_client.post(url, {"kind": "feedback", "title_en": "X", "session": other_session.pk})
    assert response.status_code == 400
    session = SessionFactory(course=course)
    staff_client.post(url, {"kind": "feedback", "title_en": "How was it?", "session": session.pk})
    assert Instrument.objects.get().session == session


def test_an_instrument_with_answers_cannot_change_its_questions_and_is_versioned_instead(staff_client, cast):
    course, officials = cast
    pre = make_test(course)
    services.response_submit(
        instrument=pre, official=officials[0], data=answers_for(pre, single=2, multiple=[1])
    )
    response = staff_client.post(reverse("survey_question_add", args=[pre.pk]), question_post())
    assert "This instrument already has answers" in response.content.decode()
    first = pre.questions.first()
    followed = staff_client.post(reverse("survey_question_delete", args=[first.pk]), follow=True)
    assert "Make a new version instead." in followed.content.decode()
    assert pre.questions.count() == 4
    with pytest.raises(ValidationError):
        services.instrument_update(instrument=pre, is_anonymous=True)

    response = staff_client.post(reverse("survey_new_version", args=[pre.pk]))
    copy = Instrument.objects.get(previous=pre)
    assert response["Location"] == reverse("survey_detail", args=[copy.pk])
    assert copy.version == 2 and copy.questions.count() == 4
    assert Choice.objects.filter(question__instrument=copy, is_correct=True).count() == 3
    pre.refresh_from_db()
    assert not services.is_open(pre)  # the old version closed: never two answered at once
    staff_client.post(reverse("survey_question_add", args=[copy.pk]), question_post())
    assert copy.questions.count() == 5 and pre.questions.count() == 4
    again = staff_client.post(reverse("survey_new_version", args=[pre.pk]), follow=True)
    assert "A newer version of this instrument already exists." in again.content.decode()


def test_an_officer_reads_but_cannot_build(officer_client, cast):
    course, _officials = cast
    pre = make_test(course)
    assert officer_client.get(reverse("survey_detail", args=[pre.pk])).status_code == 200
    assert (
        officer_client.post(reverse("survey_question_add", args=[pre.pk]), question_post()).status_code == 403
    )
    url = reverse("course_surveys", args=[course.pk])
    assert officer_client.post(url, {"kind": "pre", "title_en": "X"}).status_code == 403
    assert Instrument.objects.count() == 1 and pre.questions.count() == 4
