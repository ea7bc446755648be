"""Every write to programmes, projects, courses and sessions goes through these functions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Indicator, IndicatorPeriod, Result, Session
from courses.selectors import sessions_not_started
from courses.signals import session_changed


def course_is_cancelled_locked(course: Course) -> bool:
    """Whether the course is cancelled, read under a row lock (call inside a transaction):
    a course cancelled a moment ago must not gain a session or an enrolment."""
    return Course.objects.select_for_update().filter(pk=course.pk, status=Course.Status.CANCELLED).exists()


@transaction.atomic
def session_create(*, course: Course, changed_by=None, **fields) -> Session:
    if course_is_cancelled_locked(course):
        raise ValidationError(_("This course is cancelled: no session can be added to it."))
    session = Session(course=course, **fields)
    session._history_user = changed_by
    session.full_clean()
    session.save()
    return session


@transaction.atomic
def session_update(*, session: Session, changed_by=None, **fields) -> Session:
    # Read from the database: a ModelForm has already written the new values on `session`.
    previous = Session.objects.filter(pk=session.pk).values(*_SCHEDULE_FIELDS).first() if session.pk else None
    for name, value in fields.items():
        setattr(session, name, value)
    session._history_user = changed_by
    session.full_clean()
    session.save()
    _announce_change(session, previous)
    return session


@transaction.atomic
def session_cancel(*, session: Session, reason: str = "", changed_by=None) -> Session:
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status == Session.Status.CANCELLED:
        return session
    previous = {name: getattr(session, name) for name in _SCHEDULE_FIELDS}
    session.status = Session.Status.CANCELLED
    session.cancelled_at = timezone.now()
    session.cancellation_reason = reason
    session._history_user = changed_by
    session.save()
    _announce_change(session, previous)
    return session


# What a change notice compares: officials already reminded of a session get one update or
# cancellation message when one of these changes (participants listen to session_changed).
_SCHEDULE_FIELDS = ("starts_at", "ends_at", "venue", "status")


def _announce_change(session: Session, previous: dict | None) -> None:
    session_changed.send(sender=Session, session=session, previous=previous)


@transaction.atomic
def course_create(*, changed_by=None, **fields) -> Course:
    course = Course(**fields)
    course._history_user = changed_by
    course.full_clean()
    course.save()
    return course


@transaction.atomic
def course_update(*, course: Course, changed_by=None, **fields) -> Course:
    for name, value in fields.items():
        setattr(course, name, value)
    course._history_user = changed_by
    course.full_clean()
    course.save()
    return course


@transaction.atomic
def course_cancel(*, course: Course, reason: str, changed_by=None) -> Course:
    """Cancel a course and every session of it that has not started yet (held sessions stay).

    Each session goes through session_cancel, so officials already reminded of it get exactly one
    cancellation notice per session (queued after commit), and nothing else is sent. Idempotent:
    cancelling a cancelled course changes nothing and sends nothing.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for cancelling the course.")]})
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.status == Course.Status.CANCELLED:
        return course
    now = timezone.now()
    course.status = Course.Status.CANCELLED
    course.cancelled_at = now
    course.cancellation_reason = reason
    course._history_user = changed_by
    course.save()
    for session in sessions_not_started(course, now=now):
        session_cancel(session=session, reason=reason, changed_by=changed_by)
    return course


@transaction.atomic
def framework_save(*, instance: Result | Indicator | IndicatorPeriod, changed_by=None):
    """The one door for writing a result, an indicator or a target period of the results framework.

    The model's `clean` holds the rules (a loop in the tree, a course of another project, a period
    outside the project's dates, a percentage above 100…); history records who changed what.
    """
    instance._history_user = changed_by
    instance.full_clean()
    instance.save()
    return instance
