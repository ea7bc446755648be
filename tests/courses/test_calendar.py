"""The calendar: month and week views in Phnom Penh time, the iCalendar feeds and their tokens."""

from __future__ import annotations

import datetime
import hashlib
import re
import zoneinfo

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import CalendarFeedToken, Session
from tests.factories import CourseFactory, EnrollmentFactory, MinistryFactory, SessionFactory

PHNOM_PENH = zoneinfo.ZoneInfo("Asia/Phnom_Penh")


def at(year, month, day, hour, minute=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=PHNOM_PENH)


def feed_events(client, url) -> dict[str, icalendar.Event]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["summary"]).split(": ", 1)[1]: event for event in calendar.walk("VEVENT")}


def make_feed(user, **kwargs) -> tuple[CalendarFeedToken, str]:
    token, secret = services.calendar_feed_token_create(owner=user, **kwargs)
    return token, reverse("calendar_feed", args=[secret])


# --- the views ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_month_puts_a_session_on_its_phnom_penh_day(officer_client):
    # 06:30 in Phnom Penh is still the previous day in UTC: the calendar must not say the 4th.
    SessionFactory(title="Early opening", starts_at=at(2026, 3, 5, 6, 30), ends_at=at(2026, 3, 5, 9))
    response = officer_client.get(reverse("calendar_month"), {"month": "2026-03"})
    assert response.status_code == 200
    day = next(
        day for week in response.context["weeks"] for day in week if day.date == datetime.date(2026, 3, 5)
    )
    assert [session.title for session in day.sessions] == ["Early opening"]
    assert "06:30" in response.content.decode()
    weeks = response.context["weeks"]
    assert weeks[0][0].date.weekday() == 0 and all(len(week) == 7 for week in weeks)


@pytest.mark.django_db
def test_the_week_view_shows_monday_to_sunday_and_only_that_week(officer_client):
    SessionFactory(title="In the week", starts_at=at(2026, 3, 8, 23, 0), ends_at=at(2026, 3, 8, 23, 30))
    SessionFactory(title="Next Monday", starts_at=at(2026, 3, 9, 8), ends_at=at(2026, 3, 9, 9))
    response = officer_client.get(reverse("calendar_week"), {"week": "2026-03-04"})
    days = response.context["weeks"][0]
    assert [day.date for day in (days[0], days[-1])] == [datetime.date(2026, 3, 2), datetime.date(2026, 3, 8)]
    body = response.content.decode()
    assert "In the week" in body and "Next Monday" not in body


@pytest.mark.django_db
def test_the_calendar_filters_by_course_and_by_venue(officer_client):
    course = CourseFactory(venue="Siem Reap")
    SessionFactory(course=course, title="Own venue", venue="", starts_at=at(2026, 3, 10, 8))
    SessionFactory(title="Elsewhere", venue="Kampot", starts_at=at(2026, 3, 11, 8))
    by_course = officer_client.get(reverse("calendar_month"), {"month": "2026-03", "course": course.pk})
    assert "Own venue" in by_course.content.decode() and "Elsewhere" not in by_course.content.decode()
    # A session without its own venue meets at its course's.
    by_venue = officer_client.get(reverse("calendar_month"), {"month": "2026-03", "venue": "Siem Reap"})
    assert "Own venue" in by_venue.content.decode() and "Elsewhere" not in by_venue.content.decode()
    assert 'href="?month=2026-04&amp;venue=Siem+Reap"' in by_venue.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("view", "query"),
    [
        ("calendar_month", {"month": "2026-13"}),
        ("calendar_month", {"month": "'; DROP TABLE courses_session; --"}),
        ("calendar_week", {"week": "x" * 2000}),
        ("calendar_week", {"week": "2026-02-30"}),
        ("calendar_month", {"course": "not-a-number"}),
        ("calendar_week", {"course": "999999"}),
        ("calendar_month", {"venue": "<script>alert(1)</script>"}),
    ],
)
def test_bad_calendar_input_is_said_and_the_calendar_still_drawn(officer_client, view, query):
    SessionFactory(title="Still here", starts_at=timezone.now())
    response = officer_client.get(reverse(view), query)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="alert"' in body
    assert "Still here" in body
    assert "<script>alert(1)</script>" not in body


@pytest.mark.django_db
def test_the_calendar_speaks_khmer(officer_client):
    SessionFactory(title="Opening", starts_at=timezone.now())
    officer_client.cookies["django_language"] = "km"
    body = officer_client.get(reverse("calendar_month"), HTTP_ACCEPT_LANGUAGE="km").content.decode()
    assert 'lang="km"' in body
    for english in (
        "Calendar",
        "Previous month",
        "Next month",
        "Week view",
        "All courses",
        "Phnom Penh time",
    ):
        assert f">{english}" not in body and f"{english}<" not in body, english
    assert "ប្រតិទិន" in body
    # The weekday names too (Django's Khmer catalogue lacks the abbreviated ones: "Mon" stays English).
    assert ">Mon<" not in body and "ច័ន្ទ" in body


# --- the feeds ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_feed_shows_a_moved_session_with_a_higher_sequence_and_a_cancelled_one_as_cancelled(
    client, officer
):
    course = CourseFactory()
    moved = SessionFactory(
        course=course, title="Moved", starts_at=at(2026, 3, 10, 8), ends_at=at(2026, 3, 10, 9)
    )
    dropped = SessionFactory(
        course=course, title="Dropped", starts_at=at(2026, 3, 11, 8), ends_at=at(2026, 3, 11, 9)
    )
    kept = SessionFactory(
        course=course, title="Kept", starts_at=at(2026, 3, 12, 8), ends_at=at(2026, 3, 12, 9)
    )
    _token, url = make_feed(officer, scope="course", course=course)

    before = feed_events(client, url)
    assert {name: int(event["sequence"]) for name, event in before.items()} == {
        "Moved": 0,
        "Dropped": 0,
        "Kept": 0,
    }

    services.session_update(session=moved, starts_at=at(2026, 3, 17, 8), ends_at=at(2026, 3, 17, 9))
    services.session_cancel(session=dropped, reason="Room flooded")
    services.session_update(session=Session.objects.get(pk=kept.pk), title="Kept")  # not a move

    after = feed_events(client, url)
    assert int(after["Moved"]["sequence"]) > int(before["Moved"]["sequence"])
    assert after["Moved"].decoded("dtstart") == at(2026, 3, 17, 8)
    assert after["Moved"]["uid"] == before["Moved"]["uid"]
    assert str(after["Dropped"]["status"]) == "CANCELLED"
    assert int(after["Dropped"]["sequence"]) > int(before["Dropped"]["sequence"])
    assert str(after["Kept"]["status"]) == "CONFIRMED" and int(after["Kept"]["sequence"]) == 0

    # A move of the venue is a change too, and each change numbers higher than the last.
    services.session_update(session=Session.objects.get(pk=moved.pk), venue="Another room")
    assert int(feed_events(client, url)["Moved"]["sequence"]) == int(after["Moved"]["sequence"]) + 1


@pytest.mark.django_db
def test_the_personal_course_and_ministry_feeds_hold_their_own_sessions(client, staff):
    ministry = MinistryFactory()
    enrolled_course, other_course = CourseFactory(), CourseFactory()
    EnrollmentFactory(course=enrolled_course, official__ministry=ministry)
    SessionFactory(course=enrolled_course, title="Ours", starts_at=at(2026, 3, 10, 8))
    SessionFactory(course=other_course, title="Theirs", starts_at=at(2026, 3, 11, 8))
    SessionFactory(course=other_course, title="Undated", starts_at=None, ends_at=None)

    assert set(feed_events(client, make_feed(staff, scope="personal")[1])) == {"Ours", "Theirs"}
    assert set(feed_events(client, make_feed(staff, scope="course", course=other_course)[1])) == {"Theirs"}
    assert set(feed_events(client, make_feed(staff, scope="ministry", ministry=ministry)[1])) == {"Ours"}


@pytest.mark.django_db
def test_revoked_expired_unknown_and_orphaned_feeds_all_answer_the_same_404(client, officer, staff):
    SessionFactory(starts_at=at(2026, 3, 10, 8))
    revoked, revoked_url = make_feed(officer, scope="personal")
    services.calendar_feed_token_revoke(token=revoked)
    expiring, expired_url = make_feed(
        officer, scope="personal", expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    CalendarFeedToken.objects.filter(pk=expiring.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    _orphan, orphan_url = make_feed(staff, scope="personal")
    staff.is_active = False
    staff.save()
    never = reverse("calendar_feed", args=["A" * 43])
    too_long = reverse("calendar_feed", args=["A" * 5000])

    answers = [client.get(url) for url in (revoked_url, expired_url, orphan_url, never, too_long)]
    assert {response.status_code for response in answers} == {404}
    # The same page, but for the values that differ on every page (the form token, the path).
    assert len({re.sub(rb'value="[^"]*"', b"", response.content) for response in answers}) == 1


@pytest.mark.django_db
def test_a_token_is_unguessable_and_only_its_hash_is_stored(officer):
    token, url = make_feed(officer, scope="personal")
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(secret) >= 43  # 32 random bytes
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(CalendarFeedToken.objects.filter(pk=token.pk).values().get())


# --- the feeds page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_officer_makes_a_feed_sees_its_address_once_and_revokes_it(officer_client, client):
    course = CourseFactory()
    SessionFactory(course=course, title="Opening", starts_at=at(2026, 3, 10, 8))
    page = reverse("calendar_feeds")
    response = officer_client.post(
        page, {"scope": "course", "course": course.pk, "label": "My phone"}, follow=True
    )
    feed_url = response.context["new_feed"]["url"]
    assert feed_url.startswith("http://testserver/calendar/feed/")
    assert feed_url in response.content.decode()
    assert "Opening" in feed_events(client, feed_url.removeprefix("http://testserver"))
    # Shown once: the next visit has no address to show.
    assert officer_client.get(page).context["new_feed"] is None

    token = CalendarFeedToken.objects.get(label="My phone")
    officer_client.post(reverse("calendar_feed_revoke", args=[token.pk]))
    assert client.get(feed_url.removeprefix("http://testserver")).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scope": "course"}, "course"),
        ({"scope": "ministry"}, "ministry"),
        ({"scope": "nonsense"}, "scope"),
        ({"scope": "personal", "expires_on": "2001-01-01"}, "expires_on"),
        ({"scope": "personal", "expires_on": "tomorrow"}, "expires_on"),
        ({"scope": "personal", "label": "x" * 500}, "label"),
    ],
)
def test_a_bad_feed_request_is_refused_and_makes_nothing(officer_client, data, field):
    response = officer_client.post(reverse("calendar_feeds"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not CalendarFeedToken.objects.exists()


@pytest.mark.django_db
def test_nobody_revokes_or_sees_another_users_feed(officer_client, staff):
    theirs, _url = make_feed(staff, scope="personal", label="staff phone")
    assert "staff phone" not in officer_client.get(reverse("calendar_feeds")).content.decode()
    assert officer_client.post(reverse("calendar_feed_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
