"""`certificate.issued`: written by the certificate table's trigger in the issuing transaction,
sent once per certificate, with the certificate as issued and its verification address."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from participants.certificates import certificates_issue_for_course, certificates_issue_for_series
from participants.models import Certificate
from participants.services import attendance_record
from pcp_portal.webhooks import services
from tests.factories import CourseFactory, EnrollmentFactory, OfficialFactory, SessionFactory
from tests.webhooks.conftest import verify
from tests.webhooks.test_delivery import run


def _completed_course():
    course = CourseFactory()
    session = SessionFactory(course=course, starts_at=timezone.now() - datetime.timedelta(days=2))
    enrollment = EnrollmentFactory(course=course, official=OfficialFactory(email="sokha@example.gov.kh"))
    attendance_record(enrollment=enrollment, session=session, status="present")
    return course, enrollment


def test_issuing_a_certificate_sends_certificate_issued_once(db, receiver, subscription):
    course, enrollment = _completed_course()
    run(subscription)
    (certificate,) = certificates_issue_for_course(course=course)
    run(subscription)
    assert certificates_issue_for_course(course=course) == []  # never issued twice
    run(subscription)

    (event,) = [e for e in receiver.accepted() if e["resource"] == "certificates"]
    assert event["event"] == "certificate.issued" and event["object_id"] == certificate.pk
    data = event["data"]
    assert data["code"] == certificate.code and data["enrollment"] == enrollment.pk
    assert data["official"] == enrollment.official_id and data["course"] == course.pk
    assert data["holder_name"] == certificate.holder_name
    assert data["verification_url"].endswith(f"/verify/{certificate.code}/")
    assert event["version"] == int(certificate.issued_at.timestamp() * 1_000_000)
    request = next(r for r in receiver.requests if b"certificate.issued" in r["body"])
    assert verify(subscription.secret, request["headers"], request["body"])
    assert b"sokha@example.gov.kh" not in request["body"]


def test_a_subscription_to_other_events_gets_no_certificate(db, receiver, partner_key):
    sub = services.subscription_create(api_key=partner_key, url=receiver.url, events=["session.created"])
    course, _enrollment = _completed_course()
    certificates_issue_for_course(course=course)
    run(sub)
    assert [e for e in receiver.accepted() if e["resource"] == "certificates"] == []


def test_a_certificate_issued_in_a_rolled_back_transaction_sends_nothing(db, receiver, subscription):
    course, _enrollment = _completed_course()
    run(subscription)
    with pytest.raises(RuntimeError), transaction.atomic():
        certificates_issue_for_course(course=course)
        raise RuntimeError("the request failed after issuing")
    run(subscription)
    assert not Certificate.objects.exists()
    assert [e for e in receiver.accepted() if e["resource"] == "certificates"] == []


def test_certificate_issued_is_an_event_a_subscription_may_name(db, partner_key, receiver):
    sub = services.subscription_create(api_key=partner_key, url=receiver.url, events=["certificate.issued"])
    assert sub.events == ["certificate.issued"]


def test_the_api_schema_documents_the_subscriptions_and_the_certificate_payload(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"/api/v1/webhooks/subscriptions/", "/api/v1/webhooks/deliveries/"} <= set(schema["paths"])
    event = schema["components"]["schemas"]["WebhookEvent"]
    assert "certificate.issued" in schema["components"]["schemas"]["WebhookEventEnum"]["enum"]
    resource = event["properties"]["resource"]["$ref"].rsplit("/", 1)[1]
    assert "certificates" in schema["components"]["schemas"][resource]["enum"]
    assert "`certificate.issued`" in event["properties"]["data"]["description"]
    assert "PCP-Webhook-Signature" in event["description"]


def test_a_series_certificate_sends_certificate_issued_with_its_series(db, receiver, subscription):
    course, enrollment = _completed_course()  # the only course of its series, so the series is done
    run(subscription)
    (certificate,) = certificates_issue_for_series(project=course.project)
    run(subscription)
    assert certificates_issue_for_series(project=course.project) == []
    run(subscription)

    (event,) = [e for e in receiver.accepted() if e["resource"] == "certificates"]
    assert event["event"] == "certificate.issued" and event["object_id"] == certificate.pk
    data = event["data"]
    assert data["series"] == course.project_id and data["series_url"].endswith(
        f"/projects/{course.project_id}/"
    )
    assert data["enrollment"] is None and data["enrollment_url"] is None
    assert data["course"] is None and data["course_url"] is None
    assert data["official"] == enrollment.official_id and data["course_title"] == course.project.title
    assert data["verification_url"].endswith(f"/verify/{certificate.code}/")
