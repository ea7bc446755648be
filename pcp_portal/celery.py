"""The Celery application; tasks live in each app's tasks.py and take ids, never instances."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcp_portal.settings")

app = Celery("pcp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
