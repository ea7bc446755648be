"""The request budgets (API throttle, /verify/) when the cache counting them is unreachable:
requests pass, and one warning a minute says so, instead of a 500 for every partner."""

from __future__ import annotations

import logging
import socket

import pytest
from django.test import override_settings

from pcp_portal.throttling import cache_health
from tests.api.conftest import API


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def unreachable_cache():
    # Its own override (not the `settings` fixture), so the cache is back before other fixtures
    # clear it on teardown.
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    cache_health.reset()
    with override_settings(CACHES=unreachable):
        yield
    cache_health.reset()


def test_the_api_answers_while_its_throttle_cache_is_down_and_warns_once(
    partner_api, world, unreachable_cache, caplog
):
    with caplog.at_level(logging.WARNING, logger="pcp_portal.throttling"):
        codes = [partner_api.get(f"{API}courses/").status_code for _ in range(5)]

    assert codes == [200] * 5
    warnings = [r for r in caplog.records if "rate limit cache unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert "requests pass unthrottled" in warnings[0].getMessage()


def test_verify_answers_while_its_cache_is_down(client, db, unreachable_cache, settings, caplog):
    settings.PCP_VERIFY_PER_MINUTE = 1
    with caplog.at_level(logging.WARNING, logger="pcp_portal.throttling"):
        codes = [client.get("/verify/AAAA-BBBB-CCCC-DDDD/").status_code for _ in range(3)]

    assert codes == [404, 404, 404]  # "no such certificate", not 429 and not 500
    assert sum("rate limit cache unreachable" in r.getMessage() for r in caplog.records) == 1


def test_once_the_cache_is_back_the_budget_counts_again(partner_api, world, settings):
    from rest_framework.throttling import SimpleRateThrottle

    cache_health.reset()
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {"api": "2/minute"}
    try:
        codes = [partner_api.get(f"{API}courses/").status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 429]
