"""The API's permission matrix: every endpoint x method x role, and the status each gets.

`API_MATRIX` is data so the site-wide matrix can import and extend it:
each row is (method, path template, body name, {role: expected status}). Path templates name
objects of the `world` fixture ({session}, {enrollment}, ...); `resolve_path` and `BODIES` fill
them in. A changed cell fails the test that owns its row.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import API

ROLES = ("anonymous", "partner", "unido_officer", "mih_staff")


def _everyone_reads(code_for_staff_readers: int = 200) -> dict[str, int]:
    return {"anonymous": 401, "partner": 200, "unido_officer": 200, "mih_staff": code_for_staff_readers}


DENIED_WRITE = {"anonymous": 401, "partner": 403, "unido_officer": 403}
READ_ONLY_WRITE = {**DENIED_WRITE, "mih_staff": 405}

READ_ONLY_RESOURCES = {
    "programmes": "{programme}",
    "projects": "{project}",
    "courses": "{course}",
    "ministries": "{ministry}",
    "officials": "{official}",
    "attendance": "{attendance}",
}

API_MATRIX: list[tuple[str, str, str | None, dict[str, int]]] = [
    ("GET", API, None, _everyone_reads()),
    ("GET", "/api/schema/", None, dict.fromkeys(ROLES, 200)),
    ("GET", "/api/docs/", None, dict.fromkeys(ROLES, 200)),
]
for _name, _pk in READ_ONLY_RESOURCES.items():
    API_MATRIX += [
        ("GET", f"{API}{_name}/", None, _everyone_reads()),
        ("GET", f"{API}{_name}/{_pk}/", None, _everyone_reads()),
        ("POST", f"{API}{_name}/", "empty", READ_ONLY_WRITE),
        ("PUT", f"{API}{_name}/{_pk}/", "empty", READ_ONLY_WRITE),
        ("PATCH", f"{API}{_name}/{_pk}/", "empty", READ_ONLY_WRITE),
        ("DELETE", f"{API}{_name}/{_pk}/", None, READ_ONLY_WRITE),
    ]
API_MATRIX += [
    ("GET", f"{API}officials/{{official}}/transcript/", None, _everyone_reads()),
    ("POST", f"{API}officials/{{official}}/transcript/", "empty", READ_ONLY_WRITE),
    ("GET", f"{API}sessions/", None, _everyone_reads()),
    ("GET", f"{API}sessions/{{session}}/", None, _everyone_reads()),
    ("POST", f"{API}sessions/", "session_new", {**DENIED_WRITE, "mih_staff": 201}),
    ("PUT", f"{API}sessions/{{session}}/", "session_full", {**DENIED_WRITE, "mih_staff": 200}),
    ("PATCH", f"{API}sessions/{{session}}/", "session_patch", {**DENIED_WRITE, "mih_staff": 200}),
    ("DELETE", f"{API}sessions/{{session}}/", None, READ_ONLY_WRITE),
    ("GET", f"{API}sessions/{{session}}/register/", None, _everyone_reads()),
    ("PUT", f"{API}sessions/{{session}}/register/", "register", {**DENIED_WRITE, "mih_staff": 200}),
    ("POST", f"{API}sessions/{{session}}/register/", "register", READ_ONLY_WRITE),
    ("DELETE", f"{API}sessions/{{session}}/register/", None, READ_ONLY_WRITE),
    ("GET", f"{API}enrollments/", None, _everyone_reads()),
    ("GET", f"{API}enrollments/{{enrollment}}/", None, _everyone_reads()),
    ("POST", f"{API}enrollments/", "enrollment_new", {**DENIED_WRITE, "mih_staff": 201}),
    ("PATCH", f"{API}enrollments/{{enrollment}}/", "withdraw", {**DENIED_WRITE, "mih_staff": 200}),
    ("PUT", f"{API}enrollments/{{enrollment}}/", "withdraw", READ_ONLY_WRITE),
    ("DELETE", f"{API}enrollments/{{enrollment}}/", None, READ_ONLY_WRITE),
    ("GET", f"{API}deleted/", None, _everyone_reads()),
    ("POST", f"{API}deleted/", "empty", READ_ONLY_WRITE),
    ("GET", f"{API}changes/", None, _everyone_reads()),
    ("POST", f"{API}changes/", "empty", READ_ONLY_WRITE),
    ("DELETE", f"{API}changes/", None, READ_ONLY_WRITE),
    # Webhooks: every key manages its own subscriptions (a partner's too); another's id is 404.
    ("GET", f"{API}webhooks/subscriptions/", None, _everyone_reads()),
    (
        "POST",
        f"{API}webhooks/subscriptions/",
        "webhook_new",
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 201)},
    ),
    (
        "GET",
        f"{API}webhooks/subscriptions/999999999/",
        None,
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    (
        "PUT",
        f"{API}webhooks/subscriptions/999999999/",
        "empty",
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 405)},
    ),
    (
        "POST",
        f"{API}webhooks/subscriptions/999999999/pause/",
        "empty",
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    (
        "POST",
        f"{API}webhooks/subscriptions/999999999/resume/",
        "empty",
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    (
        "POST",
        f"{API}webhooks/subscriptions/999999999/replay/",
        "empty",
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    ("GET", f"{API}webhooks/deliveries/", None, _everyone_reads()),
    (
        "GET",
        f"{API}webhooks/deliveries/999999999/",
        None,
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    (
        "POST",
        f"{API}webhooks/deliveries/999999999/replay/",
        "empty",
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    ("POST", f"{API}webhooks/deliveries/", "empty", {"anonymous": 401, **dict.fromkeys(ROLES[1:], 405)}),
    # An address under /api/v1/ that names nothing: the same JSON 404 for everyone.
    ("GET", f"{API}no-such-resource/", None, dict.fromkeys(ROLES, 404)),
    ("PUT", f"{API}sessions/not-an-id/", "empty", dict.fromkeys(ROLES, 404)),
]


def resolve_path(template: str, world: dict) -> str:
    return template.format(
        programme=world["courses"][0].project.programme_id,
        project=world["courses"][0].project_id,
        course=world["courses"][0].pk,
        session=world["sessions"][1].pk,
        ministry=world["ministries"][0].pk,
        official=world["officials"][0].pk,
        enrollment=world["enrollments"][2].pk,
        attendance=world["attendance"][0].pk,
    )


BODIES = {
    "empty": lambda world: {},
    "session_new": lambda world: {
        "course": world["courses"][0].pk,
        "title": "Closing",
        "starts_at": "2020-03-02T09:00:00+07:00",
        "ends_at": "2020-03-02T12:00:00+07:00",
    },
    "session_full": lambda world: {"course": world["courses"][0].pk, "title": "Value chains (revised)"},
    "session_patch": lambda world: {"venue": "Siem Reap"},
    "register": lambda world: {"attendance": [{"official": world["officials"][0].pk, "status": "late"}]},
    "enrollment_new": lambda world: {"official": world["outsider"].pk, "course": world["courses"][0].pk},
    "withdraw": lambda world: {"status": "withdrawn", "withdrawal_reason": "Moved to another post"},
    # A public address given as such: no DNS needed, and nothing is sent in this test.
    "webhook_new": lambda world: {"url": "https://1.1.1.1/pcp-hooks", "events": ["session.cancelled"]},
}


def _call(client, method: str, path: str, body):
    kwargs = {"format": "json"} if body is not None else {}
    return (
        getattr(client, method.lower())(path, body, **kwargs)
        if body is not None
        else getattr(client, method.lower())(path)
    )


@pytest.mark.parametrize(
    ("method", "template", "body", "expected"),
    API_MATRIX,
    ids=[f"{method} {template}" for method, template, _b, _e in API_MATRIX],
)
def test_each_role_gets_the_expected_status(clients, world, method, template, body, expected):
    path = resolve_path(template, world)
    got = {}
    for role in ROLES:  # staff last: only its request may change anything
        response = _call(clients[role], method, path, BODIES[body](world) if body else None)
        got[role] = response.status_code
    assert got == expected


def test_anonymous_is_told_to_send_a_bearer_key(clients):
    response = clients["anonymous"].get(f"{API}courses/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_partner_write_is_refused_with_a_reason(partner_api, world):
    response = partner_api.post(f"{API}sessions/", BODIES["session_new"](world), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Partner keys are read-only."}


@pytest.mark.parametrize(
    ("user_fixture", "expected"),
    [("partner", (200, 403)), ("officer", (200, 403)), ("staff", (200, 201)), ("superuser", (200, 201))],
)
def test_portal_log_in_gets_the_same_rights_as_a_key_of_its_role(request, world, user_fixture, expected):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(request.getfixturevalue(user_fixture))

    read = client.get(f"{API}sessions/")
    write = client.post(f"{API}sessions/", BODIES["session_new"](world), format="json")

    assert (read.status_code, write.status_code) == expected


def test_a_logged_in_account_without_a_role_is_refused(client, django_user_model, world):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(django_user_model.objects.create_user("nobody", password="correct horse battery"))

    response = api.get(f"{API}courses/")

    assert response.status_code == 403
    assert response.json() == {"detail": "Your account has no role that may use the API."}
