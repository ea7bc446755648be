"""The OpenAPI contract: valid, documented, and what the API really answers (fuzzed with schemathesis).

Bounded and deterministic: a fixed number of examples per operation, derandomised, as MIH staff
(the role that reaches every operation, writes included).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_key

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def staff_key(world):
    return make_key("mih_staff")


@pytest.fixture
def api_schema(world, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    from pcp_portal.wsgi import application

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api": "100000/minute"})
    # As Django's test client does: the test's transaction must outlive each WSGI request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_as_its_schema_says(api_schema, staff_key):
    headers = {"Authorization": f"Bearer {staff_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
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
