"""A mark sent late from the register's queue: each reason for refusing it has its own code and its
own translated message, so the page can say it on the row and drop only that mark; nothing is
written. And the service worker that keeps the register pages is served with the right headers."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from courses.services import session_cancel
from participants.models import Attendance
from participants.services import enrollment_withdraw
from pcp_portal import roles
from pcp_portal.models import IdempotencyKey

pytestmark = pytest.mark.django_db


def _send(client, session, enrollment, *, key=None):
    return client.post(
        reverse("register_row", args=[session.pk, enrollment.pk]),
        {"status": "present", "note": "", "version": 0},
        headers={"Idempotency-Key": key or str(uuid.uuid4()), "Accept": "application/json"},
    )


def _refusals(client, staff, session, enrollments):
    """The answer to a mark for each reason, made in turn: (status, code, message) by reason."""
    answers = {}
    enrollment_withdraw(enrollment=enrollments[0], reason="moved", changed_by=staff)
    answers["withdrawn"] = _send(client, session, enrollments[0])
    session_cancel(session=session, reason="flood", changed_by=staff)
    answers["session_cancelled"] = _send(client, session, enrollments[1])
    staff.groups.remove(Group.objects.get(name=roles.MIH_STAFF))
    answers["role_removed"] = _send(client, session, enrollments[2])
    language = client.cookies.get("django_language")
    client.logout()  # which forgets every cookie: the language is set again
    if language is not None:
        client.cookies["django_language"] = language.value
    answers["logged_out"] = _send(client, session, enrollments[2])
    return {
        reason: (response.status_code, response.json()["code"], response.json()["message"])
        for reason, response in answers.items()
    }


def test_each_refusal_of_a_queued_mark_has_its_own_code_and_message(staff, session, enrollments):
    client = Client()
    client.force_login(staff)
    refusals = _refusals(client, staff, session, enrollments)
    assert refusals == {
        "withdrawn": (400, "withdrawn", "This official has withdrawn from the course."),
        "session_cancelled": (
            400,
            "session_cancelled",
            "This session was cancelled; attendance cannot be recorded.",
        ),
        "role_removed": (
            403,
            "role_removed",
            "Not saved: your account may no longer record attendance (it has no editor role). "
            "Ask an administrator.",
        ),
        "logged_out": (401, "logged_out", "You are logged out. Log in again to send this change."),
    }
    assert not Attendance.objects.exists()
    # A refusal decided by the register is stored with its key: the same mark sent again gets it again.
    assert sorted(IdempotencyKey.objects.values_list("status_code", flat=True)) == [400, 400]


def test_the_refusals_are_said_in_khmer_to_a_khmer_user(staff, session, enrollments):
    client = Client()
    client.force_login(staff)
    client.cookies["django_language"] = "km"
    refusals = _refusals(client, staff, session, enrollments)
    messages = {reason: message for reason, (_status, _code, message) in refusals.items()}
    assert messages["withdrawn"] == "មន្ត្រីនេះបានដកខ្លួនពីវគ្គសិក្សា។"
    assert messages["session_cancelled"] == "វគ្គរៀននេះត្រូវបានលុបចោល មិនអាចកត់ត្រាវត្តមានបានទេ។"
    for reason in ("role_removed", "logged_out"):
        assert any("\u1780" <= char <= "\u17ff" for char in messages[reason]), messages[reason]
    assert len(set(messages.values())) == 4
    assert not Attendance.objects.exists()


def test_a_queued_mark_sent_twice_with_its_key_is_applied_once(staff_client, session, enrollments):
    key = str(uuid.uuid4())
    first = _send(staff_client, session, enrollments[0], key=key)
    again = _send(staff_client, session, enrollments[0], key=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    attendance = Attendance.objects.get()
    assert (attendance.version, attendance.history.count()) == (1, 1)


def test_the_service_worker_is_served_at_the_root_and_never_kept_stale(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert 'importScripts("/static/js/mark-queue.js")' in body
    # It answers only GETs of session pages and assets; everything else goes to the network.
    assert 'if (request.method !== "GET")' in body
    assert "/api/" not in body


def test_the_service_worker_is_only_got():
    assert Client().post("/sw.js").status_code == 405
