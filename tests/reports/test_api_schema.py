"""The summary endpoint's OpenAPI description: every field documented, and real answers conform."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from pcp_portal.models import APIAccessKey

PATH = "/api/v1/reports/attendance-summary/"


@pytest.fixture
def summary_operation(world):
    from pcp_portal.wsgi import application

    # As Django's test client does: the test's transaction must outlive each WSGI request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)[PATH]["GET"]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _properties(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]["properties"]


def test_every_field_of_the_summary_is_described_in_the_schema(client, db):
    document = client.get("/api/schema/?format=json").json()
    operation = document["paths"][PATH]["get"]
    success = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert success == {"$ref": "#/components/schemas/AttendanceSummary"}
    assert {"400", "401", "403", "429"} <= set(operation["responses"])
    summary = _properties(document, "AttendanceSummary")
    assert set(summary) == {"filters", "group_by", "definitions", "series", "total", "as_of", "groups"}
    groups = document["components"]["schemas"]["AttendanceSummaryGroup"]["oneOf"]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in groups] == [
        "CourseGroup",
        "MinistryGroup",
        "SexGroup",
        "SessionGroup",
    ]
    figures = set(_properties(document, "Figures"))
    assert figures == {
        "officials",
        "enrolments",
        "trained",
        "completed",
        "attended_sessions",
        "expected_sessions",
        "excused_sessions",
        "absent_sessions",
        "attendance_rate",
        "completion_rate",
    }
    assert set(_properties(document, "CourseGroup")) == figures | {"course", "number", "title"}
    assert set(_properties(document, "SexSplit")) == {"women", "men", "other", "total", "women_share"}
    for name in ("AttendanceSummary", "Figures", "SexSplit", "SessionGroup", "SummaryFilters"):
        for field, schema in _properties(document, name).items():
            assert schema.get("description") or "$ref" in str(schema), f"{name}.{field} is undocumented"


@pytest.mark.parametrize("group_by", ["course", "ministry", "sex", "session"])
def test_each_grouping_answers_as_the_schema_says(summary_operation, group_by):
    _key, key = APIAccessKey.objects.create_key(name="partner", role="partner")
    case = summary_operation.Case(query={"group_by": group_by, "date_from": "2019-01-01"})
    # Schemathesis's WSGI transport offers gzip but does not decode it (an HTTP client does):
    # ask for the body as it is (tests/test_compression.py checks the gzipped answer).
    response = case.call(headers={"Authorization": f"Bearer {key}", "Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.json()["groups"], "the known data set has a group of each kind"
    case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])


def test_bad_input_answers_as_the_schema_says(summary_operation):
    _key, key = APIAccessKey.objects.create_key(name="partner", role="partner")
    case = summary_operation.Case(
        query={"group_by": "sex", "date_from": "2021-03-05", "date_to": "2021-03-01"}
    )
    response = case.call(headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 400
    assert "date_to" in response.json()
    case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])
