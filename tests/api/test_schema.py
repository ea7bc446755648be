"""The OpenAPI contract: valid, documented, and what the API really answers (fuzzed with schemathesis).

Every built-in schemathesis check (what `schemathesis run --checks all` runs), on schema-valid and
schema-violating requests to every operation, as MIH staff (the role that reaches every operation,
writes included). Bounded and deterministic: a fixed number of examples per operation and mode,
derandomised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import make_key

EXAMPLES_PER_OPERATION = 12

# Refusals of schema-valid requests that no OpenAPI schema can state, each with its reason; any
# other 400 to a schema-valid request fails the run. A refusal is matched by field and message.
RULES_THE_SCHEMA_CANNOT_STATE = [
    # Page cursors are signed by the server: a made-up one is refused, not followed.
    ("cursor", "cursor is invalid or was altered"),
    # So are the change feed's sync tokens, bound to the key and the resource they were given for.
    ("since", "sync token is invalid or was altered"),
    ("since", "sync token belongs to another resource"),
    # A referenced row must exist (and an id the schema allows may name nothing).
    ("course", "object does not exist"),
    ("official", "object does not exist"),
    ("course", "There is no course with this id"),
    ("ministry", "There is no ministry with this id"),
    # Rules across two fields or against the stored state.
    ("ends_at", "must end after it starts"),
    ("ends_at", "Give the start time too"),
    ("date_to", "before it starts"),
    ("course", "cannot move to another course"),
    ("status", "cannot be rescheduled"),
    ("status", "cannot start cancelled"),
    ("official", "already enrolled"),
    ("session", "was cancelled"),
    ("detail", "is cancelled"),
    # A register PUT carries its list under `attendance` or the deprecated `register`: one of the
    # two. Stated in the operation's description; as `anyOf` it breaks generated clients.
    ("attendance", "This field is required"),
    # An Idempotency-Key names one request: the fuzzer reuses keys across different requests.
    ("detail", "Idempotency-Key was already used"),
]


def _messages(body, path=()):
    if isinstance(body, dict):
        for name, value in body.items():
            yield from _messages(value, (*path, str(name)))
    elif isinstance(body, list):
        for value in body:
            yield from _messages(value, path)
    else:
        yield path, str(body)


def _cannot_be_stated(response) -> bool:
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    found = list(_messages(body))
    return bool(found) and all(
        any(field in path and fragment in message for field, fragment in RULES_THE_SCHEMA_CANNOT_STATE)
        for path, message in found
    )


@schemathesis.check
def positive_data_acceptance_but_for_unstatable_rules(ctx, response, case):
    """schemathesis's positive_data_acceptance, forgiving only the refusals listed above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code in (400, 422) and _cannot_be_stated(response):
            return None
        raise


load_all_checks()
ALL_CHECKS = [check for check in CHECKS.get_all() if check is not positive_data_acceptance]
assert positive_data_acceptance_but_for_unstatable_rules in ALL_CHECKS
assert len(ALL_CHECKS) >= 14


@pytest.fixture
def staff_key(world):
    return make_key("mih_staff")


@pytest.fixture
def api_schema(world, monkeypatch, settings):
    from rest_framework.throttling import SimpleRateThrottle

    from pcp_portal.wsgi import application

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api": "100000/minute"})
    # As Django's test client does: the test's transaction must outlive each WSGI request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        config = SchemathesisConfig.from_path(Path(__file__).with_name("schemathesis.toml"))
        yield schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_answers_as_its_schema_says_under_every_check(api_schema, staff_key, capsys):
    # Schemathesis's WSGI transport offers gzip but does not decode it (an HTTP client does): ask
    # for bodies as they are (tests/test_compression.py checks a gzipped API answer).
    headers = {"Authorization": f"Bearer {staff_key}", "Accept-Encoding": "identity"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = []
    cases = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case):
                nonlocal cases
                cases += 1
                case.call_and_validate(headers=headers, checks=ALL_CHECKS)

            try:
                exercise()
            except BaseException as error:  # schemathesis reports as an exception group
                if isinstance(error, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {error}")
    with capsys.disabled():
        print(f"\nschemathesis: {cases} cases over {len(operations)} operations, {len(failures)} failing")
    assert len(operations) >= 20
    assert not failures, "\n\n".join(failures)


def test_the_schema_documents_filters_errors_and_the_key(client, db):
    document = client.get("/api/schema/?format=json").json()

    attendance = document["paths"]["/api/v1/attendance/"]["get"]
    names = {parameter["name"] for parameter in attendance["parameters"]}
    assert {
        "updated_since",
        "course",
        "session",
        "ministry",
        "status",
        "sex",
        "date_from",
        "date_to",
    } <= names
    assert {"cursor", "page_size"} <= names
    assert {"200", "400", "401", "403", "429"} <= set(attendance["responses"])
    assert document["components"]["securitySchemes"]["bearerKey"]["scheme"] == "bearer"


def test_the_docs_page_is_served_from_our_own_static_files(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content and b"cdn.jsdelivr" not in response.content
