"""Imported first by every benchmark so that it can import the apps at the top: sets Django up."""

import os

import django

# Forced, not defaulted: a benchmark's process and the gunicorn workers it starts (they inherit this
# environment) sign and check the same page cursors and sync tokens, and never with a real key.
os.environ["SECRET_KEY"] = "benchmark-only-secret"  # noqa: S105 - a throw-away key for throw-away runs
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcp_portal.settings")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
# Forced too: benchmarks drive the API far harder than a partner may, and a 429 is not a figure.
os.environ["API_THROTTLE_RATE"] = "100000000/minute"

django.setup()
