"""Request budgets counted in the shared cache, through DRF's throttling; failing open.

The counts live in the cache every gunicorn worker shares (Redis, or the database cache on the
embedded default). When that cache is unreachable the request passes: a rate limit that fails
closed would turn a Redis outage into a 500 for every partner. A warning is logged at most once a
minute per process, and for FAIL_OPEN_SECONDS after a failure the cache is not asked at all, so a
frozen Redis costs one request one socket timeout, not every request two.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from pcp_portal.middleware import client_ip

logger = logging.getLogger(__name__)

CACHE_ERRORS = (RedisError, DatabaseError, InterfaceError, OSError)
FAIL_OPEN_SECONDS = 10.0
WARN_EVERY_SECONDS = 60.0


class _CacheHealth:
    """Per process: when the counting cache last failed, and when that was last logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failed_at = float("-inf")
        self.warned_at = float("-inf")
        self.passed = 0

    def skipping(self) -> bool:
        return time.monotonic() - self.failed_at < FAIL_OPEN_SECONDS

    def failed(self, scope: str, error: BaseException | None) -> None:
        """Count a request let through; `error` (a fresh failure) restarts the skipping window."""
        now = time.monotonic()
        with self.lock:
            if error is not None:
                self.failed_at = now
            self.passed += 1
            if now - self.warned_at < WARN_EVERY_SECONDS:
                return
            self.warned_at, passed = now, self.passed
            self.passed = 0
        logger.warning(
            "rate limit cache unreachable (%s); %s: requests pass unthrottled (%d since the last warning)",
            f"{type(error).__name__}: {error}" if error is not None else "still down",
            scope,
            passed,
        )

    def reset(self) -> None:
        with self.lock:
            self.failed_at = self.warned_at = float("-inf")
            self.passed = 0


cache_health = _CacheHealth()


class FailOpenRateThrottle(SimpleRateThrottle):
    """DRF's SimpleRateThrottle, letting requests pass while its cache is unreachable."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        if cache_health.skipping():
            cache_health.failed(self.scope, None)
            return True
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as error:
            cache_health.failed(self.scope, error)
            return True


class VerifyRateThrottle(FailOpenRateThrottle):
    """The public certificate check: PCP_VERIFY_PER_MINUTE codes per client address and minute.

    The /verify/ page is a plain Django view (HTML, 429 with Retry-After from `wait()`) that asks
    this throttle itself. Its rate is read from settings on each request rather than from
    REST_FRAMEWORK's scope rates, which DRF copies once when it is imported.
    """

    scope = "verify"

    def get_rate(self) -> str:
        return f"{settings.PCP_VERIFY_PER_MINUTE}/minute"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class CheckInRateThrottle(VerifyRateThrottle):
    """The public QR check-in pages: PCP_CHECK_IN_PER_MINUTE requests per client address and minute."""

    scope = "check_in"

    def get_rate(self) -> str:
        return f"{settings.PCP_CHECK_IN_PER_MINUTE}/minute"
