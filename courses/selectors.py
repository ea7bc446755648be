"""Reads of programmes, courses and sessions, with the joins and counts pages need."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from courses.models import Course, Programme, Project, Session


def programme_overview() -> QuerySet[Programme]:
    """Programmes with their projects and courses, in three queries whatever their number."""
    courses = Course.objects.annotate(
        sessions_planned=Count(
            "sessions", filter=~Q(sessions__status=Session.Status.CANCELLED), distinct=True
        ),
        enrolled=Count("enrollments", filter=Q(enrollments__status="enrolled"), distinct=True),
    ).order_by("number")
    projects = Project.objects.prefetch_related(Prefetch("courses", queryset=courses))
    return Programme.objects.prefetch_related(Prefetch("projects", queryset=projects))


def sessions_held_filter(prefix: str = "", now=None) -> Q:
    """A session is held once it has started and was not cancelled: the one definition used everywhere."""
    now = now or timezone.now()
    return Q(**{f"{prefix}starts_at__lte": now}) & ~Q(**{f"{prefix}status": Session.Status.CANCELLED})


def upcoming_sessions(*, limit: int = 10) -> QuerySet[Session]:
    now = timezone.now()
    return (
        Session.objects.filter(
            starts_at__gte=now - timezone.timedelta(hours=12), status=Session.Status.SCHEDULED
        )
        .select_related("course")
        .order_by("starts_at")[:limit]
    )
