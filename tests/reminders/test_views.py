"""The staff panel on the session page, the resend button, and the public opt-out link."""

from __future__ import annotations

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from participants import reminders
from participants.models import ReminderDelivery

from .helpers import course_with_officials, session_in

pytestmark = pytest.mark.django_db

Status = ReminderDelivery.Status


def _session_with_rows(statuses):
    course, officials = course_with_officials(*["km"] * len(statuses))
    session = session_in(course, 30)
    reminders.dispatch(enqueue=lambda _id: None)
    for official, status in zip(officials, statuses, strict=True):
        ReminderDelivery.objects.filter(session=session, official=official).update(
            status=status,
            reason="Mail server replied 550 No such mailbox" if status == "failed" else "",
            sent_at=timezone.now() if status == "sent" else None,
        )
    return session, officials


def test_the_session_page_shows_sent_pending_and_failed_reminders_with_a_resend_button(staff_client):
    session, _officials = _session_with_rows(["failed", "pending", "pending"])

    page = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()

    assert 'data-reminders="failed">1<' in page and 'data-reminders="pending">2<' in page
    assert "550 No such mailbox" in page
    failed = ReminderDelivery.objects.get(status="failed")
    assert reverse("reminder_resend", args=[failed.pk]) in page


def test_the_panel_loads_its_rows_in_a_fixed_number_of_queries(django_assert_num_queries, rf, staff):
    from django.template import Context, Template

    template = Template("{% load reminder_tags %}{% reminder_panel session %}")
    few, _ = _session_with_rows(["failed"])
    many, _ = _session_with_rows(["failed", "pending", "sent", "skipped", "failed", "pending"])
    request = rf.get("/")
    request.user = staff
    staff._pcp_roles = {"mih_staff"}

    with django_assert_num_queries(1):
        template.render(Context({"session": few, "request": request}))
    with django_assert_num_queries(1):
        html = template.render(Context({"session": many, "request": request}))
    assert 'data-reminders="failed">2<' in html


def test_a_session_without_a_start_time_shows_a_warning(staff_client):
    from tests.factories import SessionFactory

    session = SessionFactory(starts_at=None, ends_at=None)

    page = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()

    assert "no start time: no reminders will be sent" in page


def test_staff_resend_a_failed_reminder_and_it_is_queued_again(staff_client, monkeypatch):
    _session, _ = _session_with_rows(["failed"])
    row = ReminderDelivery.objects.get()
    queued = []
    monkeypatch.setattr("participants.tasks.send_delivery.delay", queued.append)

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.post(reverse("reminder_resend", args=[row.pk]))

    assert response.status_code == 302 and response.url.endswith("#reminders")
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.attempts == 0 and queued == [row.pk]


def test_a_reminder_that_did_not_fail_cannot_be_resent(staff_client):
    _session_with_rows(["sent"])
    row = ReminderDelivery.objects.get()

    response = staff_client.post(reverse("reminder_resend", args=[row.pk]), follow=True)

    assert "Only a failed reminder can be sent again." in response.content.decode()
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_officers_and_strangers_cannot_resend(officer_client, client):
    _session_with_rows(["failed"])
    row = ReminderDelivery.objects.get()
    url = reverse("reminder_resend", args=[row.pk])

    assert officer_client.post(url).status_code == 403
    assert client.post(url).status_code == 302  # to the log-in page
    row.refresh_from_db()
    assert row.status == Status.FAILED


def test_the_opt_out_link_asks_then_stops_reminders_without_a_log_in(client):
    _session, (official,) = _session_with_rows(["pending"])
    url = reverse("reminder_opt_out", args=[reminders.opt_out_token(official)])

    assert "Stop reminders" in client.get(url).content.decode()
    official.refresh_from_db()
    assert official.reminders_opt_out_at is None  # a mail scanner's GET changes nothing

    response = client.post(url)

    assert (
        response.status_code == 200 and "will receive no more course reminders" in response.content.decode()
    )
    official.refresh_from_db()
    assert official.reminders_opt_out_at is not None
    assert ReminderDelivery.objects.get().reason == reminders.REASON_OPTED_OUT
    latest = official.history.latest()
    assert latest.reminders_opt_out_at == official.reminders_opt_out_at  # audited like any change
    assert latest.history_change_reason == "Opted out of reminders through the e-mail link"

    client.post(url)  # a second click records nothing more
    assert official.history.filter(reminders_opt_out_at__isnull=False).count() == 1


def test_a_tampered_opt_out_link_is_refused_and_changes_nothing(client):
    _, (official,) = _session_with_rows(["pending"])
    token = reminders.opt_out_token(official)
    tampered = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")

    for bad in (tampered, "not-a-token", reminders.opt_out_token(official).replace(":", "x", 1)):
        response = client.post(reverse("reminder_opt_out", args=[bad]))
        assert response.status_code == 400 and "This link is not valid" in response.content.decode()
    official.refresh_from_db()
    assert official.reminders_opt_out_at is None
    assert ReminderDelivery.objects.get().status == Status.PENDING
