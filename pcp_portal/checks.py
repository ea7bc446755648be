"""Start-up checks for what would otherwise fail silently in production.

With DEBUG off, an unset EMAIL_HOST would send every e-mail nowhere useful (or to files nobody
reads), and an unset PORTAL_BASE_URL would put a developer's address into every opt-out link.
Both stop start-up with one line naming the variable, unless EMAIL_BACKEND is set explicitly
(a deployment that means to write e-mails to files, or to the console, says so).

Two doors: the deployment check (`manage.py check --deploy`, which the compose file's one-shot
migrate service runs first, so nothing else starts) and the WSGI entry point (gunicorn runs no
system checks, so pcp_portal/wsgi.py calls `stop_if_unsafe()`, which stops with one line). It is a
deploy check, not one run by every command, so build steps (collectstatic) and developer
commands under DEBUG=0 (makemigrations --check) do not need a mail server.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from pcp_portal.env import ImproperlyConfiguredEnv


def production_problems() -> list[tuple[str, str]]:
    """(id, message) for each setting production needs and lacks; empty with DEBUG on."""
    if settings.DEBUG or getattr(settings, "EMAIL_BACKEND_EXPLICIT", False):
        return []
    problems = []
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and not settings.EMAIL_HOST:
        problems.append(
            (
                "pcp_portal.E001",
                "EMAIL_HOST must be set when DEBUG is off (the SMTP server reminders go through), "
                "or set EMAIL_BACKEND explicitly.",
            )
        )
    if not settings.PORTAL_BASE_URL:
        problems.append(
            (
                "pcp_portal.E002",
                "PORTAL_BASE_URL must be set when DEBUG is off (links in e-mails start with it, "
                "e.g. https://pcp.example.org), or set EMAIL_BACKEND explicitly.",
            )
        )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def production_settings(app_configs=None, **kwargs):
    return [checks.Error(message, id=check_id) for check_id, message in production_problems()]


def stop_if_unsafe() -> None:
    """For entry points that run no system checks (gunicorn): stop with one line."""
    problems = production_problems()
    if problems:
        raise ImproperlyConfiguredEnv(problems[0][1])
