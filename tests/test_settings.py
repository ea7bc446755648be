"""Start-up refuses a bad environment with one line naming the variable, and changes nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_check(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env["DJANGO_SETTINGS_MODULE"] = "pcp_portal.settings"
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_missing_secret_key_with_debug_off_stops_start_up_with_one_line():
    result = _run_check({"SECRET_KEY": None, "DEBUG": "0"})
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local work)."
    )


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/db",
        "postgres://postgres@127.0.0.1:notaport/db",
        "postgres://postgres@127.0.0.1:5432",
        "nonsense",
    ],
)
def test_malformed_database_url_stops_start_up_with_one_line(url):
    result = _run_check({"SECRET_KEY": "x" * 50, "DEBUG": "0", "DATABASE_URL": url})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Configuration error: DATABASE_URL")


def test_a_boolean_that_is_not_one_is_refused():
    result = _run_check({"SECRET_KEY": "x" * 50, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: DEBUG='maybe' is not a boolean (use 1/0, true/false, yes/no, on/off)."
    )


def test_defaults_are_sqlite_under_var_and_a_serverless_broker(tmp_path):
    env = {
        "SECRET_KEY": "x" * 50,
        "DEBUG": "0",
        "DATABASE_URL": None,
        "CELERY_BROKER_URL": None,
        "PCP_VAR_DIR": str(tmp_path),
    }
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "db = s.DATABASES['default']; "
        "print(db['ENGINE'], db['NAME'], s.CELERY_BROKER_URL, s.TIME_ZONE)"
    )
    full_env = dict(os.environ.items())
    full_env["DJANGO_SETTINGS_MODULE"] = "pcp_portal.settings"
    for key, value in env.items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    engine, name, broker, tz = out.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "pcp_portal.sqlite3")
    assert broker == "filesystem://"
    assert tz == "Asia/Phnom_Penh"


# --- production refuses what would silently fail -------------------------------------------------

PRODUCTION = {
    "SECRET_KEY": "x" * 50,
    "DEBUG": "0",
    "EMAIL_HOST": "smtp.example.org",
    "PORTAL_BASE_URL": "https://pcp.example.org",
    "EMAIL_BACKEND": None,
}


def _production_env(env_changes: dict[str, str | None]) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    for key, value in {**PRODUCTION, **env_changes}.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _start_wsgi(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    """What gunicorn does first: import the WSGI application (gunicorn runs no system checks)."""
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "import pcp_portal.wsgi"],
        cwd=ROOT, env=_production_env(env_changes), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("variable", ["EMAIL_HOST", "PORTAL_BASE_URL"])
def test_production_without_a_mail_server_or_base_url_stops_start_up_with_one_line_naming_it(variable):
    result = _start_wsgi({variable: None})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {variable} must be set when DEBUG is off")


@pytest.mark.parametrize("variable", ["EMAIL_HOST", "PORTAL_BASE_URL"])
def test_the_deployment_check_names_the_missing_variable(variable):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT, env=_production_env({variable: None}), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "(pcp_portal.E00" in line]
    assert len(errors) == 1 and f"{variable} must be set when DEBUG is off" in errors[0]


def test_production_with_both_set_or_an_explicit_mail_backend_starts():
    assert _start_wsgi({}).returncode == 0
    console = "django.core.mail.backends.console.EmailBackend"
    result = _start_wsgi({"EMAIL_HOST": None, "PORTAL_BASE_URL": None, "EMAIL_BACKEND": console})
    assert result.returncode == 0, result.stderr


def test_with_debug_on_mail_goes_to_files_and_nothing_is_required(tmp_path):
    script = "import django; django.setup(); from django.conf import settings as s; print(s.EMAIL_BACKEND)"
    env = {k: v for k, v in os.environ.items() if k not in {"EMAIL_HOST", "PORTAL_BASE_URL", "EMAIL_BACKEND"}}
    env.update(DJANGO_SETTINGS_MODULE="pcp_portal.settings", DEBUG="1", PCP_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "django.core.mail.backends.filebased.EmailBackend", out.stderr
