"""Production settings: `check --deploy` is silent, and the headers say what the settings promise."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def production_environment(tmp_path) -> dict:
    """The environment .env.example describes, with a real secret and a local database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            env[key.strip()] = value.strip()
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        PCP_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="pcp_portal.settings",
    )
    return env


def test_check_deploy_with_the_example_production_environment_reports_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_example_environment_puts_the_admin_elsewhere_and_requires_a_second_factor(tmp_path):
    env = production_environment(tmp_path)
    assert env["ADMIN_URL"].strip("/") != "admin"
    assert env["OTP_REQUIRED_FOR_ADMIN"] == "1"


def test_pages_carry_a_csp_without_unsafe_inline_and_refuse_framing(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_http_only_where_possible_and_lax():
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_outbound_mail_has_a_timeout_and_password_validators_are_on():
    assert 0 < settings.EMAIL_TIMEOUT <= 60
    names = {v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert {"MinimumLengthValidator", "CommonPasswordValidator", "NumericPasswordValidator"} <= names


def test_a_weak_password_is_refused_with_reasons(staff):
    import pytest
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        validate_password("12345678", staff)
    assert any("too short" in message for message in refused.value.messages)


def test_drf_defaults_are_closed_throttled_and_page_capped():
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.permissions import AllowAny
    from rest_framework.settings import api_settings

    assert AllowAny not in api_settings.DEFAULT_PERMISSION_CLASSES
    assert api_settings.DEFAULT_THROTTLE_CLASSES and api_settings.DEFAULT_THROTTLE_RATES
    assert api_settings.DEFAULT_PAGINATION_CLASS.max_page_size <= 1000

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield str(pattern.pattern), pattern.callback.cls

    open_views = []
    for route, cls in views(get_resolver().url_patterns):
        if "schema" in route or "docs" in route:
            continue  # the OpenAPI description is public on purpose
        if any(issubclass(p, AllowAny) for p in cls.permission_classes) or not cls.throttle_classes:
            open_views.append(route)
        pagination = getattr(cls, "pagination_class", None)
        if pagination is not None and hasattr(pagination, "max_page_size"):
            assert pagination.max_page_size and pagination.max_page_size <= 1000, route
    assert open_views == []
