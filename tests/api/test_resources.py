"""What each resource shows, its filters, the register write, paging and ETags."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from participants.services import attendance_record
from pcp_portal.changefeed import SYNCED_RESOURCES
from tests.api.conftest import API
from tests.factories import AttendanceFactory, EnrollmentFactory, OfficialFactory, SessionFactory


def test_partners_never_see_officials_email_or_phone(partner_api, officer_api, world):
    official = world["officials"][0]

    partner_row = partner_api.get(f"{API}officials/{official.pk}/").json()
    officer_row = officer_api.get(f"{API}officials/{official.pk}/").json()
    partner_list = partner_api.get(f"{API}officials/").json()["results"]

    assert "email" not in partner_row and "phone" not in partner_row
    assert all("email" not in row and "phone" not in row for row in partner_list)
    assert officer_row["email"] == official.email and officer_row["phone"] == official.phone


def test_each_object_has_its_id_updated_at_and_links(partner_api, world):
    row = partner_api.get(f"{API}attendance/{world['attendance'][0].pk}/").json()

    assert row["id"] == world["attendance"][0].pk and row["updated_at"]
    assert row["session_url"].endswith(f"/api/v1/sessions/{world['sessions'][0].pk}/")
    assert row["official_url"].endswith(f"/api/v1/officials/{world['officials'][0].pk}/")
    assert partner_api.get(row["enrollment_url"]).json()["official"] == world["officials"][0].pk


def test_a_ministry_shows_its_name_history(partner_api, public_record):
    from ministries.models import Ministry

    misti = Ministry.objects.get(code="misti")
    row = partner_api.get(f"{API}ministries/{misti.pk}/").json()

    assert row["acronym"] == "MISTI"
    assert [name["acronym"] for name in row["former_names"]] == ["MIH"]
    assert row["former_names"][0]["valid_to"] == "2020-03-26"


@pytest.mark.parametrize(
    ("resource", "params", "expected"),
    [
        ("officials", {"name": "ដារ៉ា"}, lambda w: [w["officials"][0].pk]),
        ("officials", {"name": "chan"}, lambda w: [w["officials"][1].pk]),
        ("officials", {"sex": "female", "ministry": "{moc}"}, lambda w: [w["officials"][2].pk]),
        ("sessions", {"course": "{course_a}", "date_from": "2020-02-26"}, lambda w: [w["sessions"][1].pk]),
        ("enrollments", {"course": "{course_b}"}, lambda w: [w["outsider"].enrollments.get().pk]),
        (
            "enrollments",
            {"ministry": "{moc}", "status": "enrolled"},
            lambda w: [e.pk for e in w["enrollments"][1:]],
        ),
        ("attendance", {"status": "late"}, lambda w: [w["attendance"][2].pk]),
        ("attendance", {"sex": "male", "course": "{course_a}"}, lambda w: [w["attendance"][1].pk]),
        (
            "attendance",
            {"ministry": "{moc}", "date_to": "2020-02-25"},
            lambda w: [a.pk for a in w["attendance"][1:]],
        ),
        ("attendance", {"session": "{other_session}"}, lambda w: []),
    ],
)
def test_lists_filter(partner_api, world, resource, params, expected):
    names = {
        "moc": world["ministries"][1].pk,
        "course_a": world["courses"][0].pk,
        "course_b": world["courses"][1].pk,
        "other_session": world["other_session"].pk,
    }
    query = {key: value.format(**names) for key, value in params.items()}

    response = partner_api.get(f"{API}{resource}/", query)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == expected(world)


def test_putting_the_same_register_twice_changes_nothing_the_second_time(staff_api, world):
    session = world["sessions"][1]
    body = {
        "attendance": [
            {"official": world["officials"][0].pk, "status": "present"},
            {"official": world["officials"][1].pk, "status": "excused", "note": "Sick leave"},
        ]
    }

    first = staff_api.put(f"{API}sessions/{session.pk}/register/", body, format="json")
    second = staff_api.put(f"{API}sessions/{session.pk}/register/", body, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["changed"] == 2 and second.json()["changed"] == 0
    assert first.json()["register"] == second.json()["register"]
    rows = {row["official"]: row for row in second.json()["register"]}
    assert rows[world["officials"][1].pk]["status"] == "excused"
    assert rows[world["officials"][1].pk]["version"] == 1
    assert rows[world["officials"][2].pk]["status"] is None


def test_staff_create_and_cancel_a_session_through_the_services(staff_api, staff, world):
    created = staff_api.post(
        f"{API}sessions/", {"course": world["courses"][0].pk, "title": "Field visit"}, format="json"
    )
    session_url = created.json()["url"]

    cancelled = staff_api.patch(
        session_url, {"status": "cancelled", "cancellation_reason": "Holiday"}, format="json"
    )

    assert created.status_code == 201
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    assert cancelled.json()["cancellation_reason"] == "Holiday"
    again = staff_api.patch(session_url, {"status": "scheduled"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"status": ["A cancelled session cannot be rescheduled."]}


def test_staff_enrol_and_withdraw_an_official(staff_api, world):
    created = staff_api.post(
        f"{API}enrollments/",
        {"official": world["outsider"].pk, "course": world["courses"][0].pk, "enrolled_on": "2020-02-20"},
        format="json",
    )
    withdrawn = staff_api.patch(created.json()["url"], {"status": "withdrawn"}, format="json")

    assert created.status_code == 201
    assert created.json()["ministry_name_en"] == world["outsider"].ministry.name_en
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["withdrawn_at"]


def test_detail_views_answer_304_to_a_matching_if_none_match(partner_api, world):
    url = f"{API}sessions/{world['sessions'][0].pk}/"
    etag = partner_api.get(url)["ETag"]

    assert partner_api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    world["sessions"][0].save()
    changed = partner_api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_paging_while_staff_log_attendance_neither_misses_nor_repeats_a_row(partner_api, world):
    seen = []
    page = partner_api.get(f"{API}attendance/", {"page_size": 2}).json()
    seen += [row["id"] for row in page["results"]]
    # Staff keep logging: a new row and a changed row while the partner is between pages.
    attendance_record(enrollment=world["enrollments"][0], session=world["sessions"][0], status="late")
    added = AttendanceFactory(enrollment=world["enrollments"][0], session=world["sessions"][1])
    url = page["next"]
    while url:
        page = partner_api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]

    assert seen == sorted({*[a.pk for a in world["attendance"]], added.pk})


def test_previous_links_walk_back_over_the_same_pages(partner_api, world):
    first = partner_api.get(f"{API}attendance/", {"page_size": 2}).json()
    second = partner_api.get(first["next"]).json()
    back = partner_api.get(second["previous"]).json()

    assert first["previous"] is None and second["next"] is None
    assert back["results"] == first["results"] and back["previous"] is None


@pytest.mark.parametrize(
    "resource",
    [*SYNCED_RESOURCES, "deleted"],
)
def test_a_list_costs_the_same_queries_whatever_its_page_size(partner_api, world, resource):
    course = world["courses"][0]
    for _ in range(3):
        enrollment = EnrollmentFactory(official=OfficialFactory(), course=course)
        AttendanceFactory(enrollment=enrollment, session=SessionFactory(course=course))

    def count(page_size):
        with CaptureQueriesContext(connection) as queries:
            assert partner_api.get(f"{API}{resource}/", {"page_size": page_size}).status_code == 200
        # The throttle's counter lives in the database cache on the embedded default (Redis in
        # production and CI): bookkeeping of the request, not the list's cost.
        # (with the savepoint the cache's write takes).
        return len([q for q in queries if "pcp_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]])

    small, large = count(1), count(500)
    assert small == large <= 3


@pytest.mark.parametrize("params", [{}, {"course": "{course_a}", "status": "late"}, {"page_size": "2"}])
def test_the_attendance_list_shows_each_row_exactly_as_its_serializer_does(partner_api, world, params):
    import datetime

    from rest_framework.renderers import JSONRenderer
    from rest_framework.test import APIRequestFactory

    from participants.api.serializers import AttendanceSerializer
    from participants.api.views import attendance_queryset

    late = world["attendance"][2]
    late.note = "មកយឺត \u2028 “late”"  # Khmer, a line separator DRF escapes, typographic quotes
    late.recorded_at = datetime.datetime(2020, 2, 25, 0, 0, tzinfo=datetime.UTC)
    late.save()
    params = {name: value.format(course_a=world["courses"][0].pk) for name, value in params.items()}

    response = partner_api.get(f"{API}attendance/", params)
    rows = response.json()["results"]
    request = APIRequestFactory().get(f"{API}attendance/", HTTP_HOST="testserver")
    expected = AttendanceSerializer(
        attendance_queryset().filter(pk__in=[row["id"] for row in rows]).order_by("pk"),
        many=True,
        context={"request": request},
    ).data

    assert rows and [list(row) for row in rows] == [list(row) for row in expected]
    assert JSONRenderer().render(rows) == JSONRenderer().render(expected)
    assert JSONRenderer().render(expected).decode() in response.content.decode()


def test_courses_and_series_give_their_khmer_titles_beside_the_english_ones(partner_api, world):
    course = world["sessions"][0].course
    course.title_km = "គោលនយោបាយឧស្សាហកម្ម"
    course.save()
    project = course.project
    project.title_km = "គម្រោងកសាងសមត្ថភាព"
    project.save()

    row = partner_api.get(f"{API}courses/{course.pk}/", HTTP_ACCEPT_LANGUAGE="km").json()
    assert (row["title"], row["title_km"], row["description_km"]) == (
        "Industrial policy",
        "គោលនយោបាយឧស្សាហកម្ម",
        "",
    )
    series = partner_api.get(f"{API}projects/{project.pk}/").json()
    assert (series["title"], series["title_km"], series["short_title_km"]) == (
        project.title,
        "គម្រោងកសាងសមត្ថភាព",
        "",
    )
