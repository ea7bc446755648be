"""Reads of programmes, courses and sessions, with the joins and counts pages need."""

from __future__ import annotations

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
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


def _count(queryset, **filters):
    """A correlated COUNT subquery: several counts on one course without multiplying joins."""
    rows = queryset.filter(**filters).order_by().values("course_key").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def courses_with_progress(*, now=None) -> QuerySet[Course]:
    """Courses with sessions planned/held and enrolled officials, in one query.

    Attendance figures are not computed here: they come from courses.reports.figures, the one
    definition every page, export and the API use.
    """
    from participants.models import Enrollment

    now = now or timezone.now()
    course = OuterRef("pk")
    held = sessions_held_filter(now=now)
    sessions = Session.objects.annotate(course_key=F("course_id"))
    enrollments = Enrollment.objects.annotate(course_key=F("course_id"))
    return (
        Course.objects.select_related("project")
        .annotate(
            sessions_planned=_count(sessions, course_key=course, status=Session.Status.SCHEDULED),
            sessions_held=_count(sessions.filter(held), course_key=course),
            enrolled=_count(enrollments, course_key=course, status=Enrollment.Status.ENROLLED),
        )
        .order_by("project_id", "number")
    )


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


def course_sessions(course) -> QuerySet[Session]:
    """A course's sessions with the number of officials marked attending each."""
    from participants.models import AttendanceStatus

    return course.sessions.annotate(
        marked=Count("attendances", distinct=True),
        attended=Count(
            "attendances",
            filter=Q(attendances__status__in=[AttendanceStatus.PRESENT, AttendanceStatus.LATE]),
            distinct=True,
        ),
    ).order_by("starts_at", "id")
