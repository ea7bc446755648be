"""Cursor pages at their edges: emptied pages, cursors from elsewhere, page sizes out of range."""

from __future__ import annotations

import base64

import pytest
from django.core import signing

from pcp_portal.api import KeysetCursorPagination
from tests.api.conftest import API
from tests.factories import AttendanceFactory, EnrollmentFactory, OfficialFactory

LIST = f"{API}attendance/"


def ids(page: dict) -> list[int]:
    return [row["id"] for row in page["results"]]


def test_a_page_emptied_by_deletions_links_back_to_the_last_row_seen(partner_api, world):
    first, second, third = (a.pk for a in world["attendance"])
    page = partner_api.get(LIST, {"page_size": 2}).json()
    third_row = world["attendance"][2]
    third_row.delete()  # gone before the partner follows `next`

    emptied = partner_api.get(page["next"]).json()
    back = partner_api.get(emptied["previous"]).json()

    assert emptied["results"] == [] and emptied["next"] is None
    assert ids(back) == [first, second] and back["previous"] is None
    assert third not in ids(back)


def test_an_emptied_page_before_the_first_row_links_forward_to_the_first_page(partner_api, world):
    second = world["attendance"][1].pk
    page = partner_api.get(partner_api.get(LIST, {"page_size": 1}).json()["next"]).json()
    assert ids(page) == [second]
    world["attendance"][0].delete()

    emptied = partner_api.get(page["previous"]).json()

    assert emptied["results"] == [] and emptied["previous"] is None
    assert "cursor=" not in emptied["next"]
    assert ids(partner_api.get(emptied["next"]).json()) == [second]


def test_a_cursor_is_the_signed_id_so_cursors_given_out_before_stay_valid(partner_api, world):
    first, second, third = (a.pk for a in world["attendance"])
    cursor = signing.Signer(salt="pcp-portal.api.cursor").sign_object({"a": first})

    assert KeysetCursorPagination().cursor_token(first) == cursor
    assert ids(partner_api.get(LIST, {"cursor": cursor}).json()) == [second, third]


@pytest.mark.parametrize(
    "cursor",
    [
        base64.b64encode(b"p=1").decode(),  # what DRF's own CursorPagination writes, unsigned
        signing.Signer(salt="pcp-portal.api.cursor").sign_object({"a": "1"}),  # signed, not an id
        signing.Signer(salt="pcp-portal.api.cursor").sign_object({"a": 1, "o": 5}),
        signing.Signer(salt="another").sign_object({"a": 1}),
    ],
)
def test_a_cursor_not_made_by_this_api_is_refused_with_400(partner_api, world, cursor):
    response = partner_api.get(LIST, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {
        "cursor": ["This page cursor is invalid or was altered; follow the links as given."]
    }


@pytest.mark.parametrize("size", ["0", "-1", "x", "1.5", "1001"])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_1000_is_refused(partner_api, world, size):
    response = partner_api.get(LIST, {"page_size": size})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Give a whole number from 1 to 1000."]}


def test_without_page_size_a_page_holds_100_rows(partner_api, world):
    course = world["courses"][0]
    for session in world["sessions"][1:]:
        for _ in range(100):
            AttendanceFactory(
                enrollment=EnrollmentFactory(official=OfficialFactory(), course=course), session=session
            )

    page = partner_api.get(LIST).json()

    assert len(page["results"]) == 100 and page["next"]


def test_the_browsable_api_links_the_pages_of_a_list(officer_client, world):
    response = officer_client.get(LIST, {"page_size": 1}, HTTP_ACCEPT="text/html")
    page = response.content.decode()

    assert response.status_code == 200
    assert 'rel="next" aria-label="Next page"' in page  # DRF's page controls
