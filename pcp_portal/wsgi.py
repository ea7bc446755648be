"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcp_portal.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: refuse production settings that would fail silently.
from pcp_portal.checks import stop_if_unsafe  # noqa: E402 - needs the settings loaded above

stop_if_unsafe()
