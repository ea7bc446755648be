"""The calendar feeds: a secret address per user, course or ministry that calendar applications poll.

Here rather than in courses/ because a ministry's feed is the sessions its officials are enrolled
in. Public (calendar applications cannot log in): the secret is the permission."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from courses.calendar import feed_ics, feed_token_lookup
from participants.selectors import calendar_feed_sessions


def _feed_name(token) -> str:
    if token.course_id:
        return f"{_('PCP Portal')}: {token.course.title or token.course}"
    if token.ministry_id:
        return f"{_('PCP Portal')}: {token.ministry.name_en}"
    return _("PCP Portal")


@require_GET
def calendar_feed(request, secret: str):
    token = feed_token_lookup(secret)
    if token is None:
        # One answer for a wrong, revoked or expired address: nothing says which it was.
        raise Http404
    response = HttpResponse(
        feed_ics(calendar_feed_sessions(token), name=_feed_name(token)),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="pcp-sessions.ics"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response
