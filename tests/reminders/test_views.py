"""The staff panel on the session page, the resend button, and the public opt-out link."""

from __future__ import annotations

import datetime

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone, translation

from participants import reminders
from participants.models import ReminderDelivery
from participants.services import enrollment_create
from tests.factories import OfficialFactory

from .helpers import course_with_officials, queued_delivery_ids, session_in

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

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.post(reverse("reminder_resend", args=[row.pk]))

    assert response.status_code == 302 and response.url.endswith("#reminders")
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.attempts == 0 and queued_delivery_ids() == [row.pk]


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


def _failed_rows(session, n: int):
    """n officials of the session's course whose reminder failed (the server refused it for good)."""
    officials = [OfficialFactory() for _ in range(n)]
    for official in officials:
        enrollment_create(official=official, course=session.course)
        ReminderDelivery.objects.create(
            official=official,
            session=session,
            kind="reminder",
            key=reminders.reminder_key(48, session.starts_at),
            status="failed",
            attempts=1,
            reason="Mail server replied 550 Mailbox unavailable",
        )
    return officials


def test_staff_send_all_failed_messages_of_a_session_again_with_one_click(staff_client, monkeypatch):
    session, _ = _session_with_rows(["sent", "failed"])
    _failed_rows(session, 3)
    page = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    url = reverse("session_reminders_resend_failed", args=[session.pk])
    assert f'action="{url}"' in page and "Send all failed again (4)" in page

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.post(url, follow=True)

    assert "4 failed messages will be sent again." in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("#reminders")
    queued = queued_delivery_ids()
    again = ReminderDelivery.objects.filter(pk__in=queued)
    assert len(queued) == 4 and {(r.status, r.attempts, r.reason) for r in again} == {("pending", 0, "")}
    assert ReminderDelivery.objects.filter(status="sent").count() == 1


def test_staff_send_all_failed_messages_of_a_course_again_but_not_those_of_sessions_already_held(
    staff_client, monkeypatch
):
    session, _ = _session_with_rows(["failed"])
    second = session_in(session.course, 60)
    held = session_in(session.course, -24)
    _failed_rows(second, 2)
    _failed_rows(held, 5)
    page = staff_client.get(reverse("course_detail", args=[session.course_id])).content.decode()
    url = reverse("course_reminders_resend_failed", args=[session.course_id])
    assert f'action="{url}"' in page and "3 messages to officials about sessions not yet started" in page

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = staff_client.post(url, follow=True)
    with TestCase.captureOnCommitCallbacks(execute=True):
        again = staff_client.post(url, follow=True)  # a second click finds nothing left

    assert "3 failed messages will be sent again." in response.content.decode()
    assert "No failed message of a session not yet started was left to send again." in again.content.decode()
    assert len(queued_delivery_ids()) == 3
    assert ReminderDelivery.objects.filter(session=held, status="failed").count() == 5
    page = staff_client.get(reverse("course_detail", args=[session.course_id])).content.decode()
    assert f'action="{url}"' not in page


def test_officers_see_no_send_all_button_and_cannot_post_it(officer_client):
    session, _ = _session_with_rows(["failed"])
    urls = [
        reverse("session_reminders_resend_failed", args=[session.pk]),
        reverse("course_reminders_resend_failed", args=[session.course_id]),
    ]

    session_page = officer_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    course_page = officer_client.get(reverse("course_detail", args=[session.course_id])).content.decode()

    assert not any(url in session_page or url in course_page for url in urls)
    assert [officer_client.post(url).status_code for url in urls] == [403, 403]
    assert ReminderDelivery.objects.get().status == Status.FAILED


def test_a_row_waiting_for_its_next_try_shows_the_error_and_when(staff_client):
    session, _ = _session_with_rows(["pending"])
    ReminderDelivery.objects.update(
        reason="Could not talk to the mail server: ConnectionRefusedError",
        attempts=7,
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=10),
    )

    page = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()

    assert "ConnectionRefusedError" in page and "Next try:" in page


def test_reasons_of_our_own_are_shown_in_the_readers_language(staff_client):
    session, _ = _session_with_rows(["skipped"])
    ReminderDelivery.objects.update(reason=reminders.REASON_WITHDRAWN)
    staff_client.post(reverse("set_language"), {"language": "km", "next": "/"})

    page = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()

    with translation.override("km"):
        assert translation.gettext(reminders.REASON_WITHDRAWN) in page
    assert reminders.REASON_WITHDRAWN not in page
