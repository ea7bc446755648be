"""The officials list filtered by where each official stands in a series, against the cast of
tests/series/conftest.py counted by hand:

    a  completed C1 and C2, the two courses held                       completed
    b  completed C2 only; C1 and C2 are over                            not completed
    c  completed C1, enrolled in C3 (a session still to come)           in progress
    d  withdrew from C1, the only course they were in                   not completed
    e  did not complete C2, which is over                               not completed
    f  no enrolment in the series                                       not in the series
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from participants.series import SeriesState, series_status
from tests.factories import CourseFactory, EnrollmentFactory, OfficialFactory

EXPECTED_STATES = {
    SeriesState.COMPLETED: {"a"},
    SeriesState.IN_PROGRESS: {"c"},
    SeriesState.NOT_COMPLETED: {"b", "d", "e"},
    SeriesState.NOT_IN_SERIES: {"f"},
}


@pytest.fixture
def cast(series):
    officials = dict(series["officials"])
    # In another project's course only: not in this series.
    officials["f"] = OfficialFactory(family_name="Outside", given_name="Fern", sex="female")
    EnrollmentFactory(official=officials["f"], course=CourseFactory(number=1))
    return {**series, "officials": officials}


def _listed(client, **params) -> set[int]:
    response = client.get(reverse("official_list"), params)
    assert response.status_code == 200
    assert not response.context["form"].errors
    return {official.pk for official in response.context["page"]}


def _pks(cast, letters) -> set[int]:
    return {cast["officials"][letter].pk for letter in letters}


def test_each_state_is_the_one_worked_out_by_hand(cast):
    states = {pk: status.state for pk, status in series_status(cast["project"]).items()}
    for state, letters in EXPECTED_STATES.items():
        for letter in letters:
            assert states.get(cast["officials"][letter].pk, SeriesState.NOT_IN_SERIES) == state, letter


@pytest.mark.parametrize("state", list(SeriesState))
def test_the_list_shows_the_officials_in_each_series_status(cast, officer_client, state):
    listed = _listed(officer_client, series=cast["project"].pk, series_status=state)
    assert listed == _pks(cast, EXPECTED_STATES[state])


def test_the_series_status_combines_with_the_other_filters(cast, officer_client):
    listed = _listed(
        officer_client,
        series=cast["project"].pk,
        series_status=SeriesState.NOT_COMPLETED,
        ministry=cast["moc"].pk,
        sex="male",
    )
    assert listed == _pks(cast, {"e"})


def test_a_status_without_a_series_means_the_one_series_or_asks_which(cast, officer_client):
    # Two projects have courses here (f's course is in another): the page asks which series.
    response = officer_client.get(reverse("official_list"), {"series_status": "completed"})
    assert "Choose the series whose status to filter by." in response.content.decode()


def test_a_bad_status_is_reported_not_applied(cast, officer_client):
    response = officer_client.get(
        reverse("official_list"), {"series": cast["project"].pk, "series_status": "'; DROP"}
    )
    assert response.status_code == 200
    assert "Choose a series status from the list." in response.content.decode()
    assert len(response.context["page"]) == 6


@pytest.mark.parametrize("extra", [10, 120])
def test_the_filter_takes_the_same_queries_for_10_or_many_officials(
    cast, staff_client, extra, django_assert_max_num_queries
):
    c3 = cast["courses"][2]
    for _ in range(extra):
        EnrollmentFactory(official=OfficialFactory(), course=c3)
    url = reverse("official_list")
    params = {"series": cast["project"].pk, "series_status": SeriesState.IN_PROGRESS}
    with django_assert_max_num_queries(15):
        first = staff_client.get(url, params)
    assert first.context["page"].paginator.count == extra + 1
    if extra > 50:
        with django_assert_max_num_queries(15):
            last = staff_client.get(url, {**params, "page": 3})
        assert len(first.context["page"]) == 50 and len(last.context["page"]) == extra + 1 - 100
        assert "series_status=in_progress" in first.content.decode()  # kept in the page links


def test_the_filter_speaks_khmer(cast, officer_client):
    officer_client.cookies["django_language"] = "km"
    body = officer_client.get(reverse("official_list"), HTTP_ACCEPT_LANGUAGE="km").content.decode()
    for english in ("Series status", "Any series", "Series in progress", "Not in the series"):
        assert english not in body, english
