"""A session's register has one shape both ways: what GET gives, PUT takes back."""

from __future__ import annotations

import copy

from participants.models import Attendance
from tests.api.conftest import API


def _url(world):
    return f"{API}sessions/{world['sessions'][0].pk}/register/"


def test_get_gives_the_list_under_attendance_and_repeats_it_under_the_deprecated_name(staff_api, world):
    body = staff_api.get(_url(world)).json()

    assert [row["status"] for row in body["attendance"]] == ["present", "absent", "late"]
    assert body["register"] == body["attendance"]


def test_a_partner_system_can_get_change_one_status_and_put_the_body_back(staff_api, world):
    body = staff_api.get(_url(world)).json()
    changed = copy.deepcopy(body)
    changed["attendance"][1]["status"] = "excused"

    response = staff_api.put(_url(world), changed, format="json")

    assert response.status_code == 200
    assert response.json()["changed"] == 1
    after = {row["official"]: row for row in response.json()["attendance"]}
    before = {row["official"]: row for row in body["attendance"]}
    second = world["officials"][1].pk
    assert after[second]["status"] == "excused" and after[second]["version"] == before[second]["version"] + 1
    assert {k: v for k, v in after.items() if k != second} == {k: v for k, v in before.items() if k != second}


def test_rows_with_nothing_recorded_come_back_as_null_and_stay_unrecorded(staff_api, world):
    session = world["sessions"][1]  # nobody marked yet
    url = f"{API}sessions/{session.pk}/register/"
    body = staff_api.get(url).json()
    assert {row["status"] for row in body["attendance"]} == {None}
    body["attendance"][0]["status"] = "late"

    response = staff_api.put(url, body, format="json")

    assert response.status_code == 200 and response.json()["changed"] == 1
    assert list(Attendance.objects.filter(session=session).values_list("status", flat=True)) == ["late"]


def test_the_former_name_register_is_still_accepted_for_a_put(staff_api, world):
    body = {"register": [{"official": world["officials"][2].pk, "status": "present", "version": 1}]}

    response = staff_api.put(_url(world), body, format="json")

    assert response.status_code == 200 and response.json()["changed"] == 1
    assert Attendance.objects.get(pk=world["attendance"][2].pk).status == "present"


def test_errors_in_the_former_name_are_reported_under_it(staff_api, world):
    body = {"register": [{"official": world["outsider"].pk, "status": "present"}]}

    response = staff_api.put(_url(world), body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "register": {"0": {"official": ["This official is not enrolled in this session's course."]}}
    }


def test_a_put_without_the_list_is_refused_naming_it(staff_api, world):
    response = staff_api.put(_url(world), {"session": 1}, format="json")

    assert response.status_code == 400
    assert response.json() == {"attendance": ["This field is required."]}


def test_the_schema_gives_one_shape_and_marks_the_former_name_deprecated(client, db):
    schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    register = client.get("/api/schema/?format=json").json()["paths"]["/api/v1/sessions/{id}/register/"]

    assert register["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Register"
    )
    assert register["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RegisterRequest"
    )
    for name in ("Register", "RegisterRequest"):
        properties = schemas[name]["properties"]
        assert properties["register"]["deprecated"] is True
        assert properties["attendance"]["items"]["$ref"].rsplit("/", 1)[1].startswith("RegisterRow")
        assert not properties["attendance"].get("deprecated")
    assert {"session", "changed"} <= set(schemas["Register"]["properties"])
    assert not {"session", "changed"} & set(schemas["RegisterRequest"]["properties"])
