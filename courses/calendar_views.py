"""The calendar of sessions (month and week) and the page where a user manages their feed addresses.

The feeds themselves are served by participants/feeds.py: a ministry's feed needs enrolments."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import calendar, services
from courses.forms import CalendarFeedTokenForm, CalendarFilterForm
from courses.models import CalendarFeedToken, Course, Session
from pcp_portal.decorators import reader_required

# The secret of a feed made a moment ago, kept in the session for the one page that shows it.
NEW_FEED_KEY = "calendar_new_feed"


def _venues() -> list[str]:
    sessions = Session.objects.exclude(venue="").values_list("venue", flat=True)
    courses = Course.objects.exclude(venue="").values_list("venue", flat=True)
    return sorted(set(sessions) | set(courses))


def _filtered_sessions(request) -> tuple[CalendarFilterForm, object]:
    form = CalendarFilterForm(request.GET or None, venues=_venues())
    sessions = Session.objects.select_related("course")
    if form.is_bound and form.is_valid():
        if form.cleaned_data["course"]:
            sessions = sessions.filter(course=form.cleaned_data["course"])
        if venue := form.cleaned_data["venue"]:
            # A session without its own venue meets at the course's.
            sessions = sessions.filter(Q(venue=venue) | Q(venue="", course__venue=venue))
    return form, sessions


def _read_date(text: str, pattern: str) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(text, pattern).date()
    except ValueError:
        return None


def _filter_query(form: CalendarFilterForm) -> str:
    """The filters as a query-string tail, kept by the period links."""
    if not (form.is_bound and form.is_valid()):
        return ""
    parts = {}
    if form.cleaned_data["course"]:
        parts["course"] = form.cleaned_data["course"].pk
    if form.cleaned_data["venue"]:
        parts["venue"] = form.cleaned_data["venue"]
    return urlencode(parts)


@reader_required
def calendar_month(request):
    form, sessions = _filtered_sessions(request)
    asked = request.GET.get("month", "")
    first = _read_date(asked, "%Y-%m") if asked else None
    period_error = bool(asked) and first is None
    first = first or calendar.today().replace(day=1)
    start, end = calendar.month_days(first)
    days = calendar.days_with_sessions(sessions, start, end, month=first.month)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "courses/calendar.html",
        {
            "view": "month",
            "form": form,
            "period_error": period_error,
            "first": first,
            "weeks": calendar.weeks(days),
            "weekdays": days[:7],
            "previous": previous.strftime("%Y-%m"),
            "following": following.strftime("%Y-%m"),
            "week_of_period": calendar.week_start(first).isoformat(),
            "query": _filter_query(form),
            "session_count": sum(len(day.sessions) for day in days if day.in_period),
        },
    )


@reader_required
def calendar_week(request):
    form, sessions = _filtered_sessions(request)
    asked = request.GET.get("week", "")
    day = _read_date(asked, "%Y-%m-%d") if asked else None
    period_error = bool(asked) and day is None
    start = calendar.week_start(day or calendar.today())
    end = start + datetime.timedelta(days=6)
    days = calendar.days_with_sessions(sessions, start, end)
    return render(
        request,
        "courses/calendar.html",
        {
            "view": "week",
            "form": form,
            "period_error": period_error,
            "first": start,
            "last": end,
            "weeks": [days],
            "weekdays": days,
            "previous": (start - datetime.timedelta(days=7)).isoformat(),
            "following": (start + datetime.timedelta(days=7)).isoformat(),
            "month_of_period": start.strftime("%Y-%m"),
            "query": _filter_query(form),
            "session_count": sum(len(day.sessions) for day in days),
        },
    )


@reader_required
def calendar_feeds(request):
    """The user's own feed addresses: make one, copy it (shown once), revoke one."""
    form = CalendarFeedTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        expires_at = calendar.local_midnight(data["expires_on"]) if data["expires_on"] else None
        try:
            token, secret = services.calendar_feed_token_create(
                owner=request.user,
                scope=data["scope"],
                course=data["course"],
                ministry=data["ministry"],
                label=data["label"],
                expires_at=expires_at,
            )
        except ValidationError as error:
            field = "expires_on" if "expires_at" in getattr(error, "error_dict", {}) else None
            form.add_error(field, error.messages)
        else:
            request.session[NEW_FEED_KEY] = {
                "pk": token.pk,
                "url": request.build_absolute_uri(reverse("calendar_feed", args=[secret])),
            }
            messages.success(request, _("The feed was made. Copy its address now: it is shown only once."))
            return redirect("calendar_feeds")
    new_feed = request.session.pop(NEW_FEED_KEY, None)
    tokens = CalendarFeedToken.objects.filter(owner=request.user).select_related("course", "ministry")
    now = timezone.now()
    return render(
        request,
        "courses/calendar_feeds.html",
        {
            "form": form,
            "new_feed": new_feed,
            "tokens": [(token, token.is_live(now)) for token in tokens],
        },
    )


@require_POST
@reader_required
def calendar_feed_revoke(request, pk: int):
    # Another user's feed is "not found": the page does not say whose feeds exist.
    token = get_object_or_404(CalendarFeedToken, pk=pk, owner=request.user)
    if token.revoked_at is not None:
        messages.info(request, _("This feed was already revoked."))
    else:
        services.calendar_feed_token_revoke(token=token)
        messages.success(request, _("The feed was revoked: its address no longer works."))
    return redirect("calendar_feeds")
