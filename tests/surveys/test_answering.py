"""Answering through the personal link: one response per official and instrument, changeable
until it closes, and every kind of bad input refused with a clear message, storing nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from participants.reminders import opt_out_token
from participants.surveys import services
from participants.surveys.models import AnonymousResponse, Participation, Response
from tests.factories import CourseFactory, OfficialFactory

from .conftest import answers_for, make_test

pytestmark = pytest.mark.django_db


def submit(instrument, official, data):
    return services.response_submit(instrument=instrument, official=official, data=data)


def url(instrument, official, **query):
    link = reverse("survey_answer", args=[services.link_token(instrument=instrument, official=official)])
    return link + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_a_test_is_scored_on_exactly_the_correct_options(cast):
    course, officials = cast
    pre = make_test(course)
    services.response_submit(
        instrument=pre, official=officials[0], data=answers_for(pre, single=2, multiple=[1, 3])
    )
    services.response_submit(
        instrument=pre, official=officials[1], data=answers_for(pre, single=2, multiple=[1])
    )
    services.response_submit(
        instrument=pre, official=officials[2], data=answers_for(pre, single=1, multiple=[1, 2, 3])
    )
    scores = dict(Response.objects.values_list("official_id", "score"))
    assert scores == {officials[0].pk: 5, officials[1].pk: 2, officials[2].pk: 0}
    assert services.max_score(pre) == 5


def test_an_official_answers_in_khmer_and_a_second_visit_shows_the_answers_to_change(client, cast):
    course, officials = cast
    pre = make_test(course)
    page = client.get(url(pre, officials[0]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "តេស្តចំណេះដឹង" in text and "ក្រសួងណាដឹកនាំគោលនយោបាយឧស្សាហកម្ម?" in text

    data = answers_for(pre, single=2, multiple=[1, 3], scale=4, text="A policy note")
    response = client.post(url(pre, officials[0]), data, follow=True)
    assert response.status_code == 200
    stored = Response.objects.get()
    assert (
        stored.score == 5 and stored.answers[str(pre.questions.order_by("position")[3].pk)] == "A policy note"
    )

    again = client.get(url(pre, officials[0], lang="en")).content.decode()
    assert "You already answered. You may change your answers until the survey closes." in again
    assert "A policy note" in again and "checked" in again

    client.post(url(pre, officials[0]), answers_for(pre, single=1, multiple=[1, 3], scale=4))
    assert Response.objects.count() == 1 and Response.objects.get().score == 3


def test_the_same_form_posted_twice_stores_one_response(client, cast):
    course, officials = cast
    pre = make_test(course)
    data = answers_for(pre, single=2, multiple=[1, 3])
    first = client.post(url(pre, officials[1]), data, follow=True)
    second = client.post(url(pre, officials[1]), data, follow=True)
    assert "Thank you: your answers are saved." in first.content.decode()
    assert "Your answers were already saved; nothing changed." in second.content.decode()
    assert Response.objects.count() == 1 and Participation.objects.count() == 1


def test_an_anonymous_answer_posted_twice_is_stored_once_and_cannot_be_changed(client, cast):
    course, officials = cast
    survey = make_test(course, anonymous=True)
    data = answers_for(survey, single=2, multiple=[1])
    client.post(url(survey, officials[0]), data)
    second = client.post(url(survey, officials[0], lang="en"), data)
    assert second.status_code == 400
    assert "You already answered. Anonymous answers cannot be changed." in second.content.decode()
    assert AnonymousResponse.objects.count() == 1 and Participation.objects.count() == 1
    assert Response.objects.count() == 0


def test_a_tampered_signature_is_refused(client, cast):
    course, officials = cast
    pre = make_test(course)
    token = services.link_token(instrument=pre, official=officials[0])
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.get(reverse("survey_answer", args=[tampered]))
    assert response.status_code == 404
    assert "This link is not valid." in response.content.decode()
    post = client.post(reverse("survey_answer", args=[tampered]), answers_for(pre, single=2, multiple=[1]))
    assert post.status_code == 404 and Participation.objects.count() == 0


def test_a_link_for_another_official_or_another_purpose_answers_nothing(client, cast):
    course, officials = cast
    pre = make_test(course)
    outsider = OfficialFactory()  # not enrolled in this course
    forged = signing.dumps({"i": pre.pk, "o": outsider.pk}, salt="wrong salt", compress=True)
    not_enrolled = services.link_token(instrument=pre, official=outsider)
    other_course = make_test(CourseFactory())
    for token in (
        forged,
        not_enrolled,
        opt_out_token(officials[0]),  # a real signature, made for the opt-out link
        services.link_token(instrument=other_course, official=officials[0]),
    ):
        response = client.post(
            reverse("survey_answer", args=[token]), answers_for(pre, single=2, multiple=[1])
        )
        assert response.status_code == 404
    assert Participation.objects.count() == 0 and Response.objects.count() == 0


def test_an_answer_after_the_instrument_closed_is_refused(client, cast):
    course, officials = cast
    pre = make_test(course)
    pre.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    pre.save()
    page = client.get(url(pre, officials[1]))
    assert "This survey closed; answers are no longer accepted." in page.content.decode()
    assert b'<form method="post" class="survey-form">' not in page.content
    response = client.post(url(pre, officials[1]), answers_for(pre, single=2, multiple=[1]))
    assert response.status_code == 400
    assert "This survey closed" in response.content.decode()
    assert Participation.objects.count() == 0


def test_a_change_after_closing_is_refused_and_keeps_the_answer(cast):
    course, officials = cast
    pre = make_test(course)
    services.response_submit(
        instrument=pre, official=officials[0], data=answers_for(pre, single=2, multiple=[1, 3])
    )
    pre.closes_at = timezone.now()
    pre.save()
    with pytest.raises(ValidationError):
        services.response_submit(
            instrument=pre, official=officials[0], data=answers_for(pre, single=1, multiple=[2])
        )
    assert Response.objects.get().score == 5


def test_an_option_that_does_not_exist_is_refused(client, cast):
    course, officials = cast
    pre = make_test(course)
    other = make_test(course, title="Other")
    data = answers_for(pre, single=2, multiple=[1])
    q1 = pre.questions.order_by("position")[0]
    data[f"q{q1.pk}"] = [str(other.questions.order_by("position")[0].choices.first().pk)]
    response = client.post(url(pre, officials[1]), data)
    assert response.status_code == 400
    assert "that option does not exist." in response.content.decode()
    data[f"q{q1.pk}"] = ["not-a-number"]
    assert client.post(url(pre, officials[1]), data).status_code == 400
    q3 = pre.questions.order_by("position")[2]
    data = answers_for(pre, single=2, multiple=[1])
    data[f"q{q3.pk}"] = ["6"]
    response = client.post(url(pre, officials[1]), data)
    assert "choose a value from 1 to 5." in response.content.decode()
    assert Participation.objects.count() == 0


def test_ten_thousand_characters_in_a_text_answer_are_refused(client, cast):
    course, officials = cast
    pre = make_test(course)
    data = answers_for(pre, single=2, multiple=[1], text="ក" * 10_000)
    response = client.post(url(pre, officials[1]), data)
    assert response.status_code == 400
    assert "at most 1000 characters (this answer has 10000)." in response.content.decode()
    assert Participation.objects.count() == 0 and Response.objects.count() == 0


def test_a_missing_required_answer_is_named(client, cast):
    course, officials = cast
    pre = make_test(course)
    data = answers_for(pre, single=2, multiple=[1])
    del data[f"q{pre.questions.order_by('position')[0].pk}"]
    response = client.post(url(pre, officials[1]), data)
    assert "Answer “Which ministry leads industrial policy?”." in response.content.decode()
    assert Participation.objects.count() == 0
