"""`{% reminder_panel session %}`: the session page's reminders, loaded in two queries."""

from django import template

from courses import roles
from participants import reminders

register = template.Library()


@register.inclusion_tag("participants/reminders/_panel_body.html", takes_context=True)
def reminder_panel(context, session):
    data = reminders.session_panel(session)
    request = context.get("request")
    data["can_resend"] = bool(request and roles.can_edit(request.user))
    data["request"] = request
    data["csrf_token"] = context.get("csrf_token")
    return data
