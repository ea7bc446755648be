"""Reminder pieces of the staff pages: the session page's panel (one query) and the course page's
"Send all failed again" (one query, for editors only), and a row's reason in the reader's language."""

from django import template
from django.utils import timezone

from participants import reminders
from pcp_portal import roles

register = template.Library()


@register.inclusion_tag("participants/reminders/_panel_body.html", takes_context=True)
def reminder_panel(context, session):
    data = reminders.session_panel(session)
    request = context.get("request")
    data["can_resend"] = bool(request and roles.can_edit(request.user))
    # Sending again is offered while it can still help: before the session starts.
    data["can_resend_all"] = bool(
        data["can_resend"]
        and data["counts"]["failed"]
        and session.starts_at
        and session.starts_at > timezone.now()
    )
    data["request"] = request
    data["csrf_token"] = context.get("csrf_token")
    return data


@register.inclusion_tag("participants/reminders/_course_failed.html", takes_context=True)
def course_failed_reminders(context, course):
    request = context.get("request")
    can_edit = bool(request and roles.can_edit(request.user))
    return {
        "course": course,
        "failed": reminders.failed_to_resend(course=course) if can_edit else 0,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def reminder_reason(reason: str) -> str:
    return reminders.reason_display(reason)
