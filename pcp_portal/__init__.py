"""Project wiring: settings, root URLs, the Celery app. No domain logic lives here."""

from pcp_portal.celery import app as celery_app

__all__ = ("celery_app",)
