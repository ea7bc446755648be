"""Health checks for the compose health checks and load balancers.

/healthz answers as long as the process serves requests; /readyz also checks that the database
and the Celery broker are reachable, and answers 503 naming what is not.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from pcp_portal.celery import app

logger = logging.getLogger(__name__)
# /readyz answers within this many seconds whatever happens (the compose health check allows 4):
# the checks run side by side in threads, and one still running at the deadline counts as down.
READY_DEADLINE_SECONDS = 1.5


def _first_line(error: BaseException) -> str:
    # A health check is polled every few seconds: a traceback each time would bury the log.
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _database_ok() -> bool:
    # In its own thread, so its own connection (bounded by DATABASE_CONNECT_TIMEOUT), closed after.
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:  # any failure means "not ready"; the reason, in one line, to the log
        logger.warning("readyz: database unreachable: %s", _first_line(error))
        return False
    finally:
        connection.close()


def _broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=settings.REDIS_SOCKET_CONNECT_TIMEOUT)
            # Redis connects lazily: a PING makes the check real (socket_timeout bounds it).
            client = getattr(conn.default_channel, "client", None)
            if client is not None:
                client.ping()
        return True
    except Exception as error:
        logger.warning("readyz: broker unreachable: %s", _first_line(error))
        return False


def run_checks(checks: dict, deadline: float = READY_DEADLINE_SECONDS) -> dict[str, bool]:
    """Each check in a daemon thread; whatever has not answered by the deadline is down."""
    results: dict[str, bool] = {}

    def run(name, check):
        results[name] = check()

    threads = [
        threading.Thread(target=run, args=(name, check), name=f"readyz-{name}", daemon=True)
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    late = [name for name in checks if name not in results]
    if late:
        logger.warning("readyz: no answer within %.1f s from %s", deadline, ", ".join(late))
    return {name: results.get(name, False) for name in checks}


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = run_checks({"database": _database_ok, "broker": _broker_ok})
    ready = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {k: "ok" if v else "down" for k, v in checks.items()},
        },
        status=200 if ready else 503,
    )


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before host validation and the HTTPS redirect.

    Container health checks and load balancers call the process by its internal address over
    plain HTTP; ALLOWED_HOSTS and SECURE_SSL_REDIRECT would otherwise refuse them. Nothing but
    these two read-only answers is served this way.
    """

    PATHS = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = self.PATHS.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
