"""Bad input gets a 400 with a message and changes nothing; bad keys get 401."""

from __future__ import annotations

import datetime

from django.core.management import call_command
from django.utils import timezone

from courses.models import Session
from participants.models import Attendance, Enrollment
from pcp_portal.models import APIAccessKey
from tests.api.conftest import API, key_client, make_key


def _snapshot():
    return (
        list(Attendance.objects.order_by("pk").values_list("pk", "status", "version")),
        list(Session.objects.order_by("pk").values_list("pk", "title", "status")),
        list(Enrollment.objects.order_by("pk").values_list("pk", "status")),
    )


def test_an_unknown_filter_value_is_refused(partner_api, world):
    response = partner_api.get(f"{API}attendance/", {"status": "asleep"})

    assert response.status_code == 400
    assert "asleep" in response.json()["status"][0]


def test_an_unknown_query_parameter_is_refused_rather_than_ignored(partner_api, world):
    response = partner_api.get(f"{API}attendance/", {"updated_sinse": "2020-01-01T00:00:00Z"})

    assert response.status_code == 400
    assert "Unknown query parameter" in response.json()["updated_sinse"][0]


def test_a_malformed_timestamp_is_refused(partner_api, world):
    response = partner_api.get(f"{API}sessions/", {"updated_since": "yesterday at noon"})

    assert response.status_code == 400
    assert response.json()["updated_since"] == ["Enter a valid date/time."]


def test_a_tampered_cursor_is_refused(partner_api, world):
    first = partner_api.get(f"{API}attendance/", {"page_size": 1}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    tampered = cursor.replace(cursor[3], "9" if cursor[3] != "9" else "8", 1)

    response = partner_api.get(f"{API}attendance/", {"page_size": 1, "cursor": tampered})

    assert response.status_code == 400
    assert "cursor" in response.json()


def test_a_page_size_over_the_cap_is_refused(partner_api, world):
    response = partner_api.get(f"{API}attendance/", {"page_size": 100_000})

    assert response.status_code == 400
    assert response.json()["page_size"] == ["Give a whole number from 1 to 1000."]


def test_a_register_naming_an_official_not_enrolled_changes_nothing(staff_api, world):
    before = _snapshot()
    session = world["sessions"][0]
    body = {
        "attendance": [
            {"official": world["officials"][1].pk, "status": "present"},
            {"official": world["outsider"].pk, "status": "present"},
        ]
    }

    response = staff_api.put(f"{API}sessions/{session.pk}/register/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "attendance": {"1": {"official": ["This official is not enrolled in this session's course."]}}
    }
    assert _snapshot() == before


def test_a_register_with_a_status_that_does_not_exist_changes_nothing(staff_api, world):
    before = _snapshot()
    body = {"attendance": [{"official": world["officials"][1].pk, "status": "sleeping"}]}

    response = staff_api.put(f"{API}sessions/{world['sessions'][0].pk}/register/", body, format="json")

    assert response.status_code == 400
    message = response.json()["attendance"]["0"]["status"][0]
    assert "sleeping" in message and "present, late, excused, absent" in message
    assert _snapshot() == before


def test_a_body_that_is_not_json_is_refused(staff_api, world):
    before = _snapshot()

    response = staff_api.put(
        f"{API}sessions/{world['sessions'][0].pk}/register/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert _snapshot() == before


def test_a_stale_register_row_is_a_conflict_and_nothing_is_written(staff_api, world):
    before = _snapshot()
    body = {
        "attendance": [
            {"official": world["officials"][1].pk, "status": "present", "version": 1},
            {"official": world["officials"][0].pk, "status": "late", "version": 7},
        ]
    }

    response = staff_api.put(f"{API}sessions/{world['sessions'][0].pk}/register/", body, format="json")

    assert response.status_code == 409
    assert response.json()["current"] == {"status": "present", "note": "", "version": 1}
    assert _snapshot() == before


def test_a_session_with_its_end_before_its_start_gets_a_field_message(staff_api, world):
    before = _snapshot()
    body = {
        "course": world["courses"][0].pk,
        "title": "Backwards",
        "starts_at": "2020-03-02T12:00:00+07:00",
        "ends_at": "2020-03-02T09:00:00+07:00",
    }

    response = staff_api.post(f"{API}sessions/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"ends_at": ["A session must end after it starts."]}
    assert _snapshot() == before


def test_enrolling_an_official_twice_gets_a_field_message(staff_api, world):
    body = {"official": world["officials"][0].pk, "course": world["courses"][0].pk}

    response = staff_api.post(f"{API}enrollments/", body, format="json")

    assert response.status_code == 400
    assert "already enrolled" in response.json()["official"][0]


def test_a_wrong_key_gets_401(world):
    response = key_client("abcdefgh.not-the-secret").get(f"{API}courses/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


def test_a_key_with_a_wrong_secret_gets_401(world):
    key = make_key("partner")
    prefix = key.split(".")[0]

    response = key_client(f"{prefix}.wrongsecretwrongsecretwrongsecret").get(f"{API}courses/")

    assert response.status_code == 401


def test_an_expired_key_gets_401(world):
    key = make_key("partner", expiry_date=timezone.now() - datetime.timedelta(minutes=1))

    response = key_client(key).get(f"{API}courses/")

    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has expired."}


def test_a_revoked_key_stops_on_the_next_request(world):
    key = make_key("unido_officer")
    client = key_client(key)
    assert client.get(f"{API}courses/").status_code == 200

    api_key = APIAccessKey.objects.get(prefix=key.split(".")[0])
    api_key.revoked = True
    api_key.save()

    response = client.get(f"{API}courses/")
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has been revoked."}


def test_create_api_key_prints_the_key_once_on_the_last_line_and_stores_only_its_hash(db, capsys):
    call_command("create_api_key", "Donor reporting", "--role", "unido_officer")

    key = capsys.readouterr().out.strip().splitlines()[-1]
    stored = APIAccessKey.objects.get()
    assert stored.name == "Donor reporting" and stored.role == "unido_officer"
    assert key.split(".")[1] not in stored.hashed_key and stored.hashed_key.startswith("sha512$$")
    assert key_client(key).get(f"{API}courses/").status_code == 200


def test_create_api_key_refuses_an_unknown_role(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_key", "Someone", "--role", "admin")
    assert not APIAccessKey.objects.exists()


def test_throttled_requests_get_429_with_retry_after(partner_api, world, settings):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {"api": "2/minute"}
    try:
        codes = [partner_api.get(f"{API}courses/").status_code for _ in range(3)]
        response = partner_api.get(f"{API}courses/")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original

    assert codes == [200, 200, 429]
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_a_timestamp_with_an_offset_no_zone_has_is_refused_naming_the_field(partner_api, world):
    response = partner_api.get(f"{API}officials/?updated_since=2021-05-14T20:36:39%2B16:00")

    assert response.status_code == 400
    assert response.json() == {"updated_since": ["Give a UTC offset between -12:00 and +14:00."]}


def test_a_timestamp_with_a_far_offset_is_read_in_utc(partner_api, world):
    # The session last changed at 03:00 UTC, which is 17:00 at +14:00.
    session = world["sessions"][0]
    changed = datetime.datetime(2020, 2, 25, 3, tzinfo=datetime.UTC)
    Session.objects.filter(pk=session.pk).update(updated_at=changed)
    after = partner_api.get(f"{API}sessions/?updated_since=2020-02-25T17:30:00%2B14:00").json()["results"]
    before = partner_api.get(f"{API}sessions/?updated_since=2020-02-25T16:30:00%2B14:00").json()["results"]

    assert session.pk not in [row["id"] for row in after]
    assert session.pk in [row["id"] for row in before]


def test_an_empty_filter_is_refused_rather_than_ignored(partner_api, world):
    response = partner_api.get(f"{API}attendance/?updated_since=")

    assert response.status_code == 400
    assert response.json() == {"updated_since": ["Give a value, or leave the parameter out."]}


def test_an_infinite_number_as_an_id_is_refused_naming_the_field(staff_api, world):
    before = _snapshot()

    response = staff_api.post(
        f"{API}enrollments/",
        '{"official": 1e999, "course": ' + str(world["courses"][0].pk) + "}",
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"official": ["Incorrect type. Expected pk value, received float."]}
    assert _snapshot() == before


def test_an_id_beyond_the_database_range_is_refused_naming_the_field(staff_api, world):
    body = '{"course": 99999999999999999999999999, "title": "Overflow"}'

    response = staff_api.post(f"{API}sessions/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["course"]
    assert "does not exist" in response.json()["course"][0]
    assert not Session.objects.filter(title="Overflow").exists()


def test_a_body_nested_two_thousand_deep_is_refused(staff_api, world):
    before = _snapshot()

    response = staff_api.put(
        f"{API}sessions/{world['sessions'][0].pk}/register/", "[" * 2000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body nests arrays or objects too deeply."}
    assert _snapshot() == before


def test_a_form_encoded_body_is_refused_the_api_takes_json_only(staff_api, world):
    response = staff_api.post(
        f"{API}sessions/", {"course": world["courses"][0].pk, "title": "Form"}, format="multipart"
    )

    assert response.status_code == 415
    assert response.json()["detail"].startswith('Unsupported media type "multipart/form-data')
    assert not Session.objects.filter(title="Form").exists()


def test_an_api_address_that_names_nothing_gets_a_json_404_even_with_a_session_cookie(staff_api, world):
    staff_api.cookies["csrftoken"] = "x" * 32  # a browser's cookie must not turn it into a CSRF page

    response = staff_api.patch(f"{API}sessions/%C2%99/", {"title": "x"}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
