"""Every write to programmes, projects, courses and sessions goes through these functions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.calendar import new_feed_secret, secret_hash
from courses.models import (
    CalendarFeedToken,
    Course,
    Indicator,
    IndicatorPeriod,
    Project,
    Result,
    SeriesCompletionRule,
    Session,
)
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
    if previous is not None and any(previous[name] != getattr(session, name) for name in _SCHEDULE_FIELDS):
        # Read-modify-write is safe here: the row is locked below before the save.
        session.sequence = (
            Session.objects.select_for_update().values_list("sequence", flat=True).get(pk=session.pk) + 1
        )
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
    session.sequence += 1
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
def calendar_feed_token_create(
    *, owner, scope: str, course: Course | None = None, ministry=None, label: str = "", expires_at=None
) -> tuple[CalendarFeedToken, str]:
    """A new feed address for `owner`; returns the token and its secret, which is not stored and
    so can be shown only now."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": [_("Choose a date in the future, or leave it empty.")]})
    secret = new_feed_secret()
    token = CalendarFeedToken(
        owner=owner,
        scope=scope,
        course=course if scope == CalendarFeedToken.Scope.COURSE else None,
        ministry=ministry if scope == CalendarFeedToken.Scope.MINISTRY else None,
        label=(label or "").strip(),
        expires_at=expires_at,
        token_hash=secret_hash(secret),
    )
    token.full_clean(exclude=["token_hash"])
    token.save()
    return token, secret


@transaction.atomic
def calendar_feed_token_revoke(*, token: CalendarFeedToken) -> CalendarFeedToken:
    """Revoke a feed for good; revoking twice changes nothing."""
    token = CalendarFeedToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token


@transaction.atomic
def series_rule_set(*, project: Project, min_courses: int | None, changed_by=None) -> SeriesCompletionRule:
    """Set how many courses of the project's series complete it (None: every course held).

    Refused with a message, changing nothing, when more courses are required than the series
    has. Setting the rule it already has writes nothing (no empty history row).
    """
    project = Project.objects.select_for_update().get(pk=project.pk)
    if min_courses is not None:
        total = project.courses.count()
        if min_courses < 1:
            raise ValidationError({"min_courses": [_("At least one course must be required.")]})
        if min_courses > total:
            raise ValidationError(
                {
                    "min_courses": [
                        _("The series has %(total)s courses: no more than %(total)s can be required.")
                        % {"total": total}
                    ]
                }
            )
    rule = SeriesCompletionRule.objects.filter(project=project).first()
    if rule is None:
        rule = SeriesCompletionRule(project=project)
    elif rule.min_courses == min_courses:
        return rule
    rule.min_courses = min_courses
    rule._history_user = changed_by
    rule.full_clean()
    rule.save()
    return rule


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
