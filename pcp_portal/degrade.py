"""Degrading gracefully when a service the portal depends on fails.

- The database or the broker unreachable: pages and the API answer 503 with Retry-After (the
  API in its own error format, browsers a bilingual page rendered without the database), not a
  bare 500; the next request after the service returns succeeds, with no restart.
- The disk or the temp directory full: 507 with a clear message, not a bare 500.
- Anything else unexpected: a real 500 page (bilingual, static) or a JSON error for the API.

Two doors lead here: DependencyFailureMiddleware.process_exception catches what a view raises;
`server_error` (handler500) catches what middleware raised before the view (loading the session,
the user), which Django turns into a 500 before any outer middleware could see it.
"""

from __future__ import annotations

import errno
import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from pcp_portal import disk

logger = logging.getLogger(__name__)

DATABASE = "database"
BROKER = "broker"
DISK = "disk"

# PostgreSQL error codes meaning "the server is not there (yet)": admin shutdown, crash shutdown,
# cannot connect now (starting up or shutting down). Class 08 is "connection exception".
_PG_UNAVAILABLE = {"57P01", "57P02", "57P03"}
# PostgreSQL's "disk full" and "out of memory"-class resource errors that mean: no space to write.
_PG_NO_SPACE = {"53100"}
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk i/o error")


def _chain(exc: BaseException | None, depth: int = 6):
    """The exception and what caused it (Django wraps the driver's error in its own)."""
    seen = set()
    while exc is not None and depth and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
        depth -= 1


def failure_kind(exc: BaseException | None) -> str | None:
    """DATABASE, BROKER or DISK when `exc` means a service or the disk is unavailable, else None.

    A database error that is the query's fault (a constraint, a deadlock, bad SQL) is not one of
    these: it stays a 500, to be fixed.
    """
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return DISK
        if isinstance(error, InterfaceError):
            return DATABASE
        if isinstance(error, DatabaseError):
            code = getattr(error.__cause__, "pgcode", None)
            if code in _PG_NO_SPACE:
                return DISK
            if isinstance(error, OperationalError):
                if error.__cause__ is not None and type(error.__cause__).__module__.startswith("psycopg"):
                    if code is None or code.startswith("08") or code in _PG_UNAVAILABLE:
                        return DATABASE
                elif any(text in str(error).lower() for text in _SQLITE_UNAVAILABLE):
                    return DATABASE
            return None
        if _is_broker_error(error):
            return BROKER
    return None


def _is_broker_error(error: BaseException) -> bool:
    from kombu.exceptions import OperationalError as KombuOperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(error, KombuOperationalError | RedisConnectionError | RedisTimeoutError)


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def preferred_languages(request) -> list[str]:
    """The visitor's language first (cookie, then Accept-Language; no database), then the other."""
    first = translation.get_language_from_request(request)
    first = "km" if first.startswith("km") else "en"
    return [first, "en" if first == "km" else "km"]


def _api_error(request, status: int, message: str, code: str) -> HttpResponse:
    """The error in the API's own format: built by the API's exception handler, rendered as JSON."""
    from rest_framework import exceptions
    from rest_framework.renderers import JSONRenderer
    from rest_framework.settings import api_settings

    error = exceptions.APIException(detail=message, code=code)
    error.status_code = status
    response = api_settings.EXCEPTION_HANDLER(
        error, {"request": request, "view": None, "args": (), "kwargs": {}}
    )
    if response is None:  # a handler that declines: DRF's own shape
        return JsonResponse({"detail": message}, status=status)
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {"request": request}
    response.render()
    return response


def _page(request, template: str, status: int, message: str | None = None) -> HttpResponse:
    languages = preferred_languages(request)
    # No request passed on: no context processor runs, so nothing touches the database or session.
    body = loader.render_to_string(
        template, {"languages": languages, "lang": languages[0], "detail": message}
    )
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def unavailable_response(request, kind: str = DATABASE) -> HttpResponse:
    """503 with Retry-After: the API's JSON for /api/, the bilingual page otherwise."""
    if is_api(request):
        with translation.override(preferred_languages(request)[0]):
            message = _("The service is briefly unavailable; please try again in a minute.")
        response = _api_error(request, 503, message, "service_unavailable")
    else:
        response = _page(request, "503.html", 503)
    response["Retry-After"] = str(settings.PCP_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def insufficient_storage_response(request, message: str | None = None) -> HttpResponse:
    """507: the server has no room to write what was sent or asked for (`message` says more)."""
    if is_api(request):
        with translation.override(preferred_languages(request)[0]):
            text = message or _(
                "The server is short of disk space; nothing was saved. Please try again later."
            )
        return _api_error(request, 507, text, "insufficient_storage")
    return _page(request, "507.html", 507, message=message)


def response_for(request, exc: BaseException | None) -> HttpResponse | None:
    kind = failure_kind(exc)
    if kind is None:
        return None
    logger.warning(
        "%s unavailable: answered %s to %s %s (%s)",
        kind,
        507 if kind == DISK else 503,
        request.method,
        request.path,
        type(exc).__name__,
    )
    if kind == DISK:
        return insufficient_storage_response(request, getattr(exc, "message", None))
    return unavailable_response(request, kind)


class DependencyFailureMiddleware:
    """A view's exception meaning "a service or the disk is unavailable" becomes 503/507."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # An upload refused for lack of disk space (pcp_portal/disk.py), which the view does
        # not show as a form error itself: 507 with the reason, rather than a form that says
        # "this field is required".
        message = disk.refused_upload(request)
        if message and not disk.view_handles_refused_upload(view_func):
            return insufficient_storage_response(request, message)
        return None

    def process_exception(self, request, exception):
        return response_for(request, exception)


def server_error(request):
    """handler500: also reached when middleware (the session, the user) hit a dead database."""
    response = response_for(request, sys.exc_info()[1])
    if response is not None:
        return response
    if is_api(request):
        with translation.override(preferred_languages(request)[0]):
            message = _("An unexpected error occurred on the server; it has been logged.")
        return _api_error(request, 500, message, "server_error")
    return _page(request, "500.html", 500)


class DependencyDownLogFilter:
    """One warning line for a request answered 503 or 507, instead of an ERROR with a traceback:
    while the database is down every request would otherwise log one."""

    def filter(self, record) -> bool:
        if getattr(record, "status_code", None) in (503, 507):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True
