"""The gunicorn harness of the benchmarks that time the portal against a baseline view over HTTP.

Such a benchmark module (api_attendance_list, change_feed) is also the server's WSGI application and
ROOT_URLCONF, so that the portal and its baseline are served by the same workers:

    urlpatterns = server.urlpatterns_with("bench/<name>/", baseline_view)
    application = server.wsgi_application(__name__)
    ...
    with server.gunicorn("benchmarks.<module>", port=PORT, workers=WORKERS):
        ...  # drive it over http://127.0.0.1:PORT
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.exceptions import AuthenticationFailed

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from pcp_portal.api import BearerAPIKeyAuthentication
from pcp_portal.urls import urlpatterns as portal_urlpatterns

ROOT = Path(__file__).resolve().parent.parent


def key_required(view):
    """The portal's Bearer-key check in front of a baseline view, so that the baseline pays for it too."""

    @functools.wraps(view)
    def checked(request):
        try:
            if BearerAPIKeyAuthentication().authenticate(request) is None:
                return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
        except AuthenticationFailed as error:
            return JsonResponse({"detail": str(error.detail)}, status=401)
        return view(request)

    return checked


def sql_json_response(sql: str, params: dict) -> HttpResponse:
    """The JSON text that one SQL statement writes (json_agg), sent as it is."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        body = cursor.fetchone()[0]
    return HttpResponse(body, content_type="application/json")


def urlpatterns_with(route: str, view) -> list:
    """The portal's URLs plus a baseline view at `route`: a benchmark module's own `urlpatterns`."""
    return [path(route, view), *portal_urlpatterns]


def wsgi_application(urlconf: str):
    """gunicorn's entry point: the portal with `urlconf` (the benchmark module) as ROOT_URLCONF.

    Built at a worker's first request, so that the benchmark's own process, which imports the same
    module, keeps the portal's ROOT_URLCONF for the requests it makes in process."""
    app = None

    def application(environ, start_response):
        nonlocal app
        if app is None:
            app = get_wsgi_application()
            settings.ROOT_URLCONF = urlconf
        return app(environ, start_response)

    return application


@contextlib.contextmanager
def gunicorn(module: str, *, port: int, workers: int, timeout: int | None = None) -> Iterator[None]:
    """gunicorn serving `module`'s `application` on loopback with DEBUG off, from when it answers
    /healthz until the block ends (`timeout`: gunicorn's worker timeout, when not its default)."""
    options = ["--timeout", str(timeout)] if timeout is not None else []
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            f"{module}:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *options,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "0", "LOG_LEVEL": "WARNING"},
    )
    try:
        for _ in range(60):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(0.5)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)
