"""At the session on a shared tablet: staff open the page, an official picks their name and answers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from participants.surveys import services
from participants.surveys.models import Response
from tests.factories import OfficialFactory

from .conftest import answers_for, make_test

pytestmark = pytest.mark.django_db


def test_an_official_picks_their_name_and_answers_on_the_personal_page(staff_client, cast):
    course, officials = cast
    pre = make_test(course)
    page = staff_client.get(reverse("survey_tablet", args=[pre.pk])).content.decode()
    assert all(official.full_name in page for official in officials)
    response = staff_client.post(reverse("survey_tablet", args=[pre.pk]), {"official": officials[1].pk})
    token = services.link_token(instrument=pre, official=officials[1])
    assert response["Location"] == reverse("survey_answer", args=[token])
    staff_client.post(response["Location"], answers_for(pre, single=2, multiple=[1, 3]))
    assert Response.objects.get().official == officials[1]


def test_a_name_not_enrolled_or_not_a_number_is_refused(staff_client, cast):
    course, _officials = cast
    pre = make_test(course)
    url = reverse("survey_tablet", args=[pre.pk])
    for picked in (OfficialFactory().pk, "x", ""):
        followed = staff_client.post(url, {"official": picked}, follow=True)
        assert "Choose a name from the list of enrolled officials." in followed.content.decode()


def test_officers_cannot_open_the_tablet(officer_client, cast):
    course, officials = cast
    pre = make_test(course)
    assert officer_client.get(reverse("survey_tablet", args=[pre.pk])).status_code == 403
    assert (
        officer_client.post(
            reverse("survey_tablet", args=[pre.pk]), {"official": officials[0].pk}
        ).status_code
        == 403
    )
