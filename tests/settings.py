"""Test settings: the real settings module, with the environment a test run needs.

DATABASE_URL and CELERY_BROKER_URL pass through from the environment (CI sets PostgreSQL and
Redis); everything else is pinned so a test run never depends on a developer's shell.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-any-deployment")
os.environ["DEBUG"] = "0"
os.environ.setdefault("PCP_MANIFEST_STATIC", "0")
# Production (DEBUG off) needs PORTAL_BASE_URL; tests use the development address.
os.environ.setdefault("PORTAL_BASE_URL", "http://127.0.0.1:8000")
os.environ.setdefault("PCP_VAR_DIR", os.path.join(tempfile.gettempdir(), f"pcp-portal-tests-{os.getpid()}"))

from pcp_portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; real hashers tested apart
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# Serve static files from the apps' folders without collectstatic (live-server and browser tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# On SQLite, test on a file as the embedded default does, not in memory: Django shares one in-memory
# connection between the live server's threads, and concurrent register saves then trip over each other.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    os.makedirs(os.environ["PCP_VAR_DIR"], exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["PCP_VAR_DIR"], "test.sqlite3")}  # noqa: F405
