"""An anonymous instrument's answers cannot be joined back to officials: the schema holds nothing to
join on, and what the portal stores and shows for one names nobody."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from participants.models import Official
from participants.surveys import services
from participants.surveys.models import AnonymousResponse, Participation

from .conftest import answers_for, make_test

pytestmark = pytest.mark.django_db

# Columns allowed in the anonymous answer table, and why each names nobody.
ALLOWED = {
    "id": "a random UUID: no insertion order to match against the participation rows",
    "instrument_id": "the questionnaire, shared by everyone who answered it",
    "answers": "the answers themselves",
    "score": "a test's score",
}


def test_the_anonymous_answer_table_has_no_foreign_key_but_its_instrument_and_no_identifying_column():
    table = AnonymousResponse._meta.db_table
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
        constraints = connection.introspection.get_constraints(cursor, table)
    assert columns == set(ALLOWED)
    targets = {c["foreign_key"][0] for c in constraints.values() if c["foreign_key"]}
    assert targets == {"surveys_instrument"}
    model_fields = {f.name for f in AnonymousResponse._meta.get_fields() if f.concrete}
    assert model_fields == {"id", "instrument", "answers", "score"}
    assert not any(
        f.is_relation and f.related_model is Official for f in AnonymousResponse._meta.get_fields()
    )
    # Nothing that records when, which could be lined up with a participation or an access log.
    assert not any(
        f.get_internal_type() in ("DateTimeField", "DateField") for f in AnonymousResponse._meta.fields
    )


def test_the_participation_ledger_keeps_only_that_they_answered():
    columns = {f.name for f in Participation._meta.concrete_fields}
    assert columns == {"id", "instrument", "official"}


def test_an_anonymous_answer_stores_nothing_of_the_official(cast, client):
    course, officials = cast
    survey = make_test(course, anonymous=True)
    token = services.link_token(instrument=survey, official=officials[0])
    client.post(
        reverse("survey_answer", args=[token]), answers_for(survey, single=2, multiple=[1], text="Honest")
    )
    stored = AnonymousResponse.objects.get()
    text = repr(stored.answers) + str(stored.pk)
    # Keyed by question, never by person.
    assert set(stored.answers) <= {str(pk) for pk in survey.questions.values_list("pk", flat=True)}
    for official in officials:
        assert official.full_name not in text and official.email not in text
    assert Participation.objects.filter(instrument=survey, official=officials[0]).exists()
    assert not hasattr(stored, "official")
