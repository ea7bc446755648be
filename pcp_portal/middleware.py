"""Request-level protections: bounded bodies and query strings, and sessions that end.

RequestLimitsMiddleware answers 413 to a body larger than PCP_MAX_REQUEST_BODY before anything
reads it, and 414 to a query string longer than PCP_MAX_QUERY_STRING. SessionLifetimeMiddleware
logs a user out (deleting the session on the server) after SESSION_IDLE_TIMEOUT seconds without
a request, and after SESSION_ABSOLUTE_TIMEOUT seconds from log-in whatever the activity.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.utils.translation import gettext as _

AUTH_AT = "_pcp_auth_at"
SEEN_AT = "_pcp_seen_at"
# The last-seen stamp is written at most this often, so reading pages does not write a session
# row on every request.
SEEN_RESOLUTION = 30


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the one PCP_PROXY_COUNT trusted proxies report."""
    proxies = getattr(settings, "PCP_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse(
                _("The request's length is not a number."), status=400, content_type="text/plain"
            )
        limit = settings.PCP_MAX_REQUEST_BODY
        if length > limit:
            return HttpResponse(
                _("The request is too large: at most %(size)s MB may be sent at once.")
                % {"size": round(limit / 1024 / 1024, 1)},
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        if len(request.META.get("QUERY_STRING", "")) > settings.PCP_MAX_QUERY_STRING:
            return HttpResponse(
                _("The address is too long: shorten the search or filter."),
                status=414,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            auth_at = session.get(AUTH_AT)
            seen_at = session.get(SEEN_AT)
            if auth_at is None:
                session[AUTH_AT] = auth_at = now
            if seen_at is None:
                seen_at = now
            idle = now - seen_at > settings.SESSION_IDLE_TIMEOUT
            too_old = now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT
            if idle or too_old:
                logout(request)  # flushes the session: the server-side row is deleted
                messages.info(request, _("Your session has ended; please log in again."), fail_silently=True)
            elif now - seen_at >= SEEN_RESOLUTION or SEEN_AT not in session:
                session[SEEN_AT] = now
        return self.get_response(request)
