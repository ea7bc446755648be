"""ASGI entry point (the portal is served by gunicorn over WSGI; kept for ASGI servers)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcp_portal.settings")
application = get_asgi_application()
