"""Reads of programmes, courses and sessions, with the joins and counts pages need."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from courses.models import SeriesCompletionRule, Session


def sessions_held_filter(prefix: str = "", now=None) -> Q:
    """A session is held once it has started and was not cancelled: the one definition used everywhere."""
    now = now or timezone.now()
    return Q(**{f"{prefix}starts_at__lte": now}) & ~Q(**{f"{prefix}status": Session.Status.CANCELLED})


def sessions_today(*, today=None) -> QuerySet[Session]:
    today = today or timezone.localdate()
    return Session.objects.filter(starts_at__date=today).select_related("course").order_by("starts_at", "id")


def next_sessions(*, limit: int = 8) -> QuerySet[Session]:
    """Scheduled sessions after today."""
    tomorrow = timezone.localdate() + timezone.timedelta(days=1)
    return (
        Session.objects.filter(starts_at__date__gte=tomorrow, status=Session.Status.SCHEDULED)
        .select_related("course")
        .order_by("starts_at", "id")[:limit]
    )


def sessions_not_started(course, *, now=None) -> QuerySet[Session]:
    """Scheduled sessions of a course not started yet (or undated): what cancelling the course cancels."""
    now = now or timezone.now()
    return course.sessions.filter(
        Q(starts_at__isnull=True) | Q(starts_at__gt=now), status=Session.Status.SCHEDULED
    ).order_by(F("starts_at").asc(nulls_last=True), "id")


def series_rule_history(project, *, limit: int = 20):
    """The changes to a project's series completion rule, newest first, with who made them (one query)."""
    records = SeriesCompletionRule.history.filter(project_id=project.pk).select_related("history_user")
    return records.order_by("-history_date", "-history_id")[:limit]
