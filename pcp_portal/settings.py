"""Settings for PCP Portal: one module, every deployment value from the environment.

Without any environment the portal runs on embedded defaults: SQLite under var/
and a filesystem Celery broker under var/ (a real worker, no server needed).
DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from kombu import Queue

from pcp_portal.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_database,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PCP_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfiguredEnv(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local work)."
        )
    SECRET_KEY = "insecure-local-development-key-only-used-with-DEBUG-on"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "pcp_portal.apps.PortalConfig",
    "ministries",
    "courses",
    "participants",
    "participants.surveys.apps.SurveysConfig",
]

MIDDLEWARE = [
    "pcp_portal.health.HealthCheckMiddleware",
    "pcp_portal.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages, JSON and exports gzipped for a browser that accepts it (a 58 KB register is 6 KB on
    # a prepaid phone's link); Django pads each response against BREACH. Below WhiteNoise, which
    # answers static files itself, hashed, immutable and already compressed; above every
    # middleware that may write a body (the 503/507 pages of degrade.py are compressed too).
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "pcp_portal.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # A view's "database/broker down" or "disk full" becomes 503/507 (pcp_portal/degrade.py).
    "pcp_portal.degrade.DependencyFailureMiddleware",
    # Last, as django-axes requires: it turns a lock-out into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pcp_portal.urls"
WSGI_APPLICATION = "pcp_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pcp_portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", str(VAR_DIR / "pcp_portal.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# Internationalisation: the portal is used in English and Khmer.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("km", _("Khmer"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Phnom_Penh"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("PCP_MANIFEST_STATIC", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

# Security defaults that hold in every environment; production hardening reads more below.
SESSION_COOKIE_HTTPONLY = True
# Django's default. No script reads the cookie: the register's script sends the form's token.
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG and SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=300)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1024)
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

ADMIN_URL = (env_str("ADMIN_URL") or "admin/").strip("/") + "/"

# E-mail: an SMTP server from the environment. With DEBUG off, EMAIL_HOST and PORTAL_BASE_URL are
# required (pcp_portal/checks.py stops start-up naming the missing one) unless EMAIL_BACKEND is set
# explicitly; with DEBUG on, e-mails without EMAIL_HOST are written to files under var/mail/.
EMAIL_HOST = env_str("EMAIL_HOST") or ""
EMAIL_BACKEND_EXPLICIT = bool(env_str("EMAIL_BACKEND"))
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST or not DEBUG
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# Seconds one SMTP socket operation (connect, each command) may wait. 10 s is far above a healthy
# server's answer (well under a second) and short enough that a hung server holds a reminder worker
# slot for seconds, not minutes; the send is then retried with back-off.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "PCP Portal <no-reply@pcp-portal.invalid>")
# Links in e-mails (opt-out, certificates) start with this; no default in production.
PORTAL_BASE_URL = (env_str("PORTAL_BASE_URL") or ("http://127.0.0.1:8000" if DEBUG else "")).rstrip("/")

# Bounded waits on Redis (cache, broker, result backend, /readyz): seconds to connect and to wait
# for any one reply. A stopped Redis refuses at once; a frozen or unreachable one would otherwise
# hold a request (or a worker) for as long as the kernel's TCP timeouts, minutes.
REDIS_SOCKET_CONNECT_TIMEOUT = env_float("REDIS_SOCKET_CONNECT_TIMEOUT", 1.0, minimum=0.1, maximum=60.0)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0, minimum=0.1, maximum=60.0)
# Seconds a PostgreSQL connection attempt may take (libpq's connect_timeout; it counts 2 at least).
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = DATABASE_CONNECT_TIMEOUT
# When the database or a broker is down, pages and the API answer 503 with this Retry-After.
PCP_RETRY_AFTER_SECONDS = env_int("PCP_RETRY_AFTER_SECONDS", 30, minimum=1)

# Celery: Redis (or RabbitMQ) from the environment, otherwise kombu's filesystem transport.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    # kombu's filesystem transport does not create its folders; the worker would crash without them.
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without this kombu writes its broadcast exchange files into the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Tasks are never parked in the broker longer than this (reminders are found by the
    # dispatcher), so Redis never re-delivers a task that is merely waiting.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
        # A publish or a readiness check never waits longer than these on a frozen Redis.
        "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
    }
# Seconds to establish the broker connection when publishing (Celery's default is 4).
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_CONNECT_TIMEOUT + REDIS_SOCKET_TIMEOUT
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
# Queues by kind, so one kind of work cannot stall another: a hung SMTP server holds only the
# reminder workers, a long import only the import workers. docker-compose.yml runs a worker per
# group; `make run` runs one worker listening on all of them (CELERY_QUEUES_ALL).
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "participants.tasks.*": {"queue": "reminders"},  # reminders and change notices (SMTP)
    "participants.imports.*": {"queue": "imports"},
    # The figures snapshot must refresh within seconds, not wait behind long exports.
    "participants.reports.tasks.refresh_figures_snapshot": {"queue": "default"},
    "participants.reports.*": {"queue": "exports"},
    "*.webhooks.*": {"queue": "webhooks"},
    "pcp_portal.tasks.*": {"queue": "default"},  # the outbox relay and other housekeeping
}
CELERY_QUEUES_ALL = ("default", "reminders", "imports", "exports", "webhooks")
# Declared, so a worker started without -Q consumes every queue (as before queues by kind).
CELERY_TASK_QUEUES = [Queue(name) for name in CELERY_QUEUES_ALL]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Reminders (participants/reminders/): the dispatcher finds due reminders in the database;
    # nothing waits in the broker with a long countdown.
    "reminders-dispatch": {
        "task": "participants.tasks.dispatch_reminders",
        "schedule": env_int("REMINDER_DISPATCH_INTERVAL_SECONDS", 300, minimum=10),
        "options": {"expires": env_int("REMINDER_DISPATCH_INTERVAL_SECONDS", 300, minimum=10)},
    },
    # Survey links (participants/surveys/sending.py): the same rules as reminders, own ledger.
    "survey-links-dispatch": {
        "task": "participants.surveys.tasks.dispatch_survey_links",
        "schedule": env_int("REMINDER_DISPATCH_INTERVAL_SECONDS", 300, minimum=10),
        "options": {"expires": env_int("REMINDER_DISPATCH_INTERVAL_SECONDS", 300, minimum=10)},
    },
    # The transactional outbox (pcp_portal/outbox.py): tasks whose hand-over right after their
    # commit failed (the broker was down) are handed over by this relay, every few seconds.
    "outbox-relay": {
        "task": "pcp_portal.tasks.relay_outbox",
        "schedule": env_int("OUTBOX_RELAY_INTERVAL_SECONDS", 10, minimum=1),
        "options": {"expires": env_int("OUTBOX_RELAY_INTERVAL_SECONDS", 10, minimum=1)},
    },
    "outbox-prune": {"task": "pcp_portal.tasks.prune_outbox", "schedule": 3600, "options": {"expires": 3600}},
    # Idempotency-Key answers are kept 24 h (pcp_portal/idempotency.py); older ones go hourly.
    "idempotency-prune": {
        "task": "pcp_portal.tasks.prune_idempotency_keys",
        "schedule": 3600,
        "options": {"expires": 3600},
    },
}
# How long the change feed (/api/v1/changes/) keeps changes: an older sync token gets 410 (full sync).
PCP_CHANGE_FEED_RETENTION_DAYS = env_int("PCP_CHANGE_FEED_RETENTION_DAYS", 30, minimum=1)
# A claimed reminder whose worker died is taken up again after this long; it must exceed the
# longest SMTP conversation (EMAIL_TIMEOUT) and the longest retry back-off.
REMINDER_CLAIM_TIMEOUT_SECONDS = env_int("REMINDER_CLAIM_TIMEOUT_SECONDS", 900, minimum=1)
# A transient failure (4xx, mail server unreachable) is tried again after this back-off, doubled
# each try up to the cap, for as long as the session has not started; the dispatcher re-queues.
REMINDER_RETRY_BACKOFF_SECONDS = env_float("REMINDER_RETRY_BACKOFF_SECONDS", 30.0, minimum=0.0)
REMINDER_RETRY_BACKOFF_MAX_SECONDS = env_float("REMINDER_RETRY_BACKOFF_MAX_SECONDS", 600.0, minimum=0.0)
# A change notice (session moved) stands in for every reminder of the new time that falls due
# within this many hours after it: no "48 hours before" seconds after "the session moved".
REMINDER_NOTICE_SUPERSEDES_HOURS = env_int("REMINDER_NOTICE_SUPERSEDES_HOURS", 12, minimum=0)
# Messages one send task claims and sends over one SMTP connection.
REMINDER_SEND_BATCH_SIZE = env_int("REMINDER_SEND_BATCH_SIZE", 50, minimum=1)
# A pre-test link goes out this long before the course's first session (and not after it starts).
SURVEY_PRE_TEST_LEAD_HOURS = env_int("SURVEY_PRE_TEST_LEAD_HOURS", 72, minimum=1)
# An unanswered survey is recalled this long after its link, and once more after twice as long.
SURVEY_REMINDER_AFTER_HOURS = env_int("SURVEY_REMINDER_AFTER_HOURS", 72, minimum=1)

# Domain settings.
PCP_COMPLETION_THRESHOLD = env_float("PCP_COMPLETION_THRESHOLD", 0.75, minimum=0.0, maximum=1.0)
# The public certificate check (/verify/): codes one address may check per minute, counted in the
# shared cache (pcp_portal.throttling.VerifyRateThrottle, a DRF throttle that fails open).
PCP_VERIFY_PER_MINUTE = env_int("PCP_VERIFY_PER_MINUTE", 20, minimum=1)
# QR self check-in (participants/checkin/): the code on the screen changes every ROTATE seconds and
# is valid VALID seconds from when it first showed (so a code scanned as it changes still works);
# the page it opens stays usable PASS seconds for typing a name. Attempts (page loads, searches,
# check-ins) one address may make per minute: a whole room shares the hotel's address, so this
# allows some 30 people checking in within the same minute, not a script guessing names.
PCP_CHECK_IN_ROTATE_SECONDS = env_int("PCP_CHECK_IN_ROTATE_SECONDS", 30, minimum=5)
PCP_CHECK_IN_VALID_SECONDS = env_int("PCP_CHECK_IN_VALID_SECONDS", 60, minimum=5)
PCP_CHECK_IN_PASS_SECONDS = env_int("PCP_CHECK_IN_PASS_SECONDS", 15 * 60, minimum=60)
PCP_CHECK_IN_PER_MINUTE = env_int("PCP_CHECK_IN_PER_MINUTE", 120, minimum=1)
# When self check-in opens before a session starts, and when an arrival counts as late (after the
# start plus this grace); it closes when the session ends (or this many hours after a start
# without an end).
PCP_CHECK_IN_OPENS_MINUTES = env_int("PCP_CHECK_IN_OPENS_MINUTES", 60, minimum=0)
PCP_CHECK_IN_LATE_AFTER_MINUTES = env_int("PCP_CHECK_IN_LATE_AFTER_MINUTES", 15, minimum=0)
PCP_CHECK_IN_OPEN_HOURS_WITHOUT_END = env_int("PCP_CHECK_IN_OPEN_HOURS_WITHOUT_END", 8, minimum=1)
# Imports of officials, enrolments and sign-in sheets (participants/imports): the largest file
# accepted, and the most data rows one file may hold (ministry files have 20 to 500; a year's
# sign-in sheets or a whole register move reach tens of thousands).
PCP_IMPORT_MAX_BYTES = env_int("PCP_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
PCP_IMPORT_MAX_ROWS = env_int("PCP_IMPORT_MAX_ROWS", 50_000, minimum=10)
# A queued, previewing or applying import silent this long, and not held by a live worker, is
# queued again (participants.imports.apply.resume_stalled, run by beat every minute).
PCP_IMPORT_STALL_SECONDS = env_int("PCP_IMPORT_STALL_SECONDS", 120, minimum=1)

# Report exports (participants/reports/jobs.py). An XLSX of more rows than PCP_EXPORT_BACKGROUND_ROWS
# is written by a worker (openpyxl takes about 0.1 ms a cell: 20,000 attendance rows are ~2 s of
# request), into PCP_EXPORT_DIR, kept PCP_EXPORT_KEEP_HOURS for its download, then removed.
# A running export silent for PCP_EXPORT_STALL_SECONDS lost its worker and is marked failed.
PCP_EXPORT_DIR = Path(env_str("PCP_EXPORT_DIR") or VAR_DIR / "exports")
PCP_EXPORT_BACKGROUND_ROWS = env_int("PCP_EXPORT_BACKGROUND_ROWS", 20_000, minimum=0)
PCP_EXPORT_KEEP_HOURS = env_int("PCP_EXPORT_KEEP_HOURS", 24, minimum=1)
PCP_EXPORT_STALL_SECONDS = env_int("PCP_EXPORT_STALL_SECONDS", 600, minimum=10)
# A PDF table longer than this many A4 pages (at about PDF_ROWS_PER_PAGE rows a page) is refused
# with links to its CSV and XLSX: WeasyPrint lays out about 2 pages a second here and holds the
# whole document in memory (20 pages peaked at 234 MB): 10 pages stay within seconds and 200 MB.
PCP_PDF_MAX_PAGES = env_int("PCP_PDF_MAX_PAGES", 10, minimum=1)

# The API (pcp_portal/api/): keys as `Authorization: Bearer <key>` (or a portal session for the
# browsable API), deny by default (each view names the roles that may read and write it),
# keyset cursor pages, a request budget per key, one error format.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pcp_portal.api.BearerAPIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["pcp_portal.api.RolePermission"],
    # JSON only: one content type per body in the schema, so generated clients send JSON.
    "DEFAULT_PARSER_CLASSES": ["pcp_portal.api.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "pcp_portal.api.KeysetCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["pcp_portal.api.PerKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_THROTTLE_RATE", "1200/minute")},
    "EXCEPTION_HANDLER": "pcp_portal.api.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "pcp_portal.api.schema.PortalAutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PCP Portal API",
    "DESCRIPTION": "Read and sync the UNIDO-Cambodia PCP capacity-building course data. Send your key as "
    "`Authorization: Bearer <key>`. Lists are cursor-paged in id order; `updated_since` plus the "
    "`deleted` feed keep a partner's copy exact.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components: a write never asks for `id`, `url` or times.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pcp_portal.api.schema.state_text_rules",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: no CDN, and CSP allows it
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": [("scheduled", "Scheduled"), ("cancelled", "Cancelled")],
        "EnrollmentStatusEnum": [("enrolled", "Enrolled"), ("withdrawn", "Withdrawn")],
        "AttendanceStatusEnum": "participants.models.AttendanceStatus",
    },
}


# --- Production hardening: log-in protection, CSP, sessions, limits, logs ---------------

# django-axes locks the PAIR of username and address after repeated failures, so one person
# guessing cannot lock out a whole ministry behind one shared internet address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failed log-in kept for the audit view
AXES_ACCESS_FAILURE_LOG_PER_USER_LIMIT = 1000
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The client's address: REMOTE_ADDR, or with PCP_PROXY_COUNT trusted proxies in front, the
# address those proxies saw (pcp_portal.middleware.client_ip); history rows use the same.
PCP_PROXY_COUNT = env_int("PCP_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "pcp_portal.middleware.client_ip"

# Sessions end after inactivity and, whatever the activity, after an absolute lifetime
# (pcp_portal.middleware.SessionLifetimeMiddleware); the cookie ends with the browser.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_ABSOLUTE_TIMEOUT", 60 * 60 * 12, minimum=300)
SESSION_COOKIE_AGE = min(SESSION_COOKIE_AGE, SESSION_ABSOLUTE_TIMEOUT)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = "pcp_portal.sessions"  # the database store, without misleading error noise
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "django.views.csrf.csrf_failure"

# Optional TOTP second factor (django-otp): a staff or admin account that has confirmed a
# device must give a one-time code at log-in. OTP_REQUIRED_FOR_ADMIN makes it compulsory for
# the admin site.
OTP_TOTP_ISSUER = "PCP Portal"
OTP_REQUIRED_FOR_ADMIN = env_bool("OTP_REQUIRED_FOR_ADMIN", False)

# Content-Security-Policy (django-csp 4): no inline script or style anywhere, no frames.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env_str("CSP_REPORT_URI"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [env_str("CSP_REPORT_URI")]
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


# Bounded requests: bodies, uploads, form fields and query strings (pcp_portal.middleware).
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 5000, minimum=100)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)
# Larger uploads go to a temporary file here (the system's temp directory by default); the handler
# checks the free space first and removes a partial file on every path (pcp_portal/disk.py).
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "pcp_portal.disk.SpaceCheckingTemporaryFileUploadHandler",
]
# Uploads and exports refuse to start unless their size plus this much stays free on the disk.
PCP_MIN_FREE_DISK_BYTES = env_int("PCP_MIN_FREE_DISK_BYTES", 20 * 1024 * 1024, minimum=0)
PCP_MAX_REQUEST_BODY = env_int("PCP_MAX_REQUEST_BODY", 20 * 1024 * 1024, minimum=1024)
PCP_MAX_QUERY_STRING = env_int("PCP_MAX_QUERY_STRING", 2048, minimum=256)
PCP_MAX_WORKBOOK_UNCOMPRESSED = env_int("PCP_MAX_WORKBOOK_UNCOMPRESSED", 50 * 1024 * 1024, minimum=1024)

# The cache counts requests for the API throttle and the /verify/ limit, so every gunicorn worker
# must share it: Redis from CACHE_URL (or REDIS_URL), otherwise a table in the database
# (`manage.py createcachetable`, run wherever migrate runs). Waits on Redis are bounded; when the
# cache is unreachable the limits let requests pass (pcp_portal/degrade.py).
CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL") or ""
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "pcp_cache",
        }
    }

# DRF's defaults (deny by default, a throttle per key, capped pages) are set with the API above;
# tests/security/test_deploy_settings.py checks that none of them is open.

# Structured JSON logs on stdout; user-supplied values cannot forge a line (pcp_portal.logging).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "pcp_portal.logging.JsonFormatter"},
        "plain": {
            "()": "pcp_portal.logging.EscapingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "filters": {"dependency_down": {"()": "pcp_portal.degrade.DependencyDownLogFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["dependency_down"],
            "stream": "ext://sys.stdout",
            "formatter": "plain" if env_str("LOG_FORMAT", "json") == "plain" else "json",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# Webhooks (pcp_portal/webhooks/): partners' URLs told of changes. Plain http and private, loopback
# or link-local addresses are refused unless allowed (by default only with DEBUG on, for local work).
PCP_WEBHOOK_ALLOW_HTTP = env_bool("PCP_WEBHOOK_ALLOW_HTTP", DEBUG)
PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
# Per request: seconds to connect, seconds in all; bytes of the answer read (the rest is dropped).
PCP_WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_float("PCP_WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.1)
PCP_WEBHOOK_TIMEOUT_SECONDS = env_float("PCP_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
PCP_WEBHOOK_MAX_RESPONSE_BYTES = env_int("PCP_WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024, minimum=0)
# A failed delivery is tried again after this back-off, doubled each time up to the cap, for this
# many hours; a subscription failing for PCP_WEBHOOK_PAUSE_AFTER_HOURS is paused and its owner told.
PCP_WEBHOOK_RETRY_BACKOFF_SECONDS = env_float("PCP_WEBHOOK_RETRY_BACKOFF_SECONDS", 10.0, minimum=0.0)
PCP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS = env_float(
    "PCP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS", 3600.0, minimum=0.0
)
PCP_WEBHOOK_RETRY_HOURS = env_float("PCP_WEBHOOK_RETRY_HOURS", 24.0, minimum=0.0)
PCP_WEBHOOK_PAUSE_AFTER_HOURS = env_float("PCP_WEBHOOK_PAUSE_AFTER_HOURS", 24.0, minimum=0.0)
# Attendance changes of one session within this window go out as one `attendance.changed`.
PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS = env_float("PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS", 60.0, minimum=0.0)
# Change rows one dispatch reads per subscription; the dispatcher runs every few seconds.
PCP_WEBHOOK_DISPATCH_BATCH = env_int("PCP_WEBHOOK_DISPATCH_BATCH", 500, minimum=1)
CELERY_BEAT_SCHEDULE["imports-resume-stalled"] = {
    "task": "participants.imports.tasks.resume_stalled_imports",
    "schedule": 60,
    "options": {"expires": 60},
}
CELERY_BEAT_SCHEDULE["exports-remove-expired"] = {
    "task": "participants.reports.tasks.remove_expired_exports",
    "schedule": 900,
    "options": {"expires": 900},
}
CELERY_BEAT_SCHEDULE["webhooks-dispatch"] = {
    "task": "pcp_portal.webhooks.tasks.dispatch",
    "schedule": env_int("PCP_WEBHOOK_DISPATCH_INTERVAL_SECONDS", 5, minimum=1),
    "options": {"expires": env_int("PCP_WEBHOOK_DISPATCH_INTERVAL_SECONDS", 5, minimum=1)},
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "WebhookEventEnum": "pcp_portal.webhooks.events.EVENT_CHOICES",
        "WebhookSubscriptionStatusEnum": "pcp_portal.models.WebhookSubscription.Status",
        "WebhookDeliveryStatusEnum": "pcp_portal.models.WebhookDelivery.Status",
    }
)

# Telegram (pcp_portal/telegram.py): the Bot API's address (a fake one on loopback in tests), the
# bot's token and name (for the deep link), how long a link token lasts, the longest 429 wait.
PCP_TELEGRAM_API_BASE = env_str("PCP_TELEGRAM_API_BASE", "https://api.telegram.org")
PCP_TELEGRAM_BOT_TOKEN = env_str("PCP_TELEGRAM_BOT_TOKEN", "")
PCP_TELEGRAM_BOT_USERNAME = env_str("PCP_TELEGRAM_BOT_USERNAME", "pcp_portal_bot")
PCP_TELEGRAM_LINK_MAX_AGE_SECONDS = env_int("PCP_TELEGRAM_LINK_MAX_AGE_SECONDS", 7 * 24 * 3600, minimum=60)
PCP_TELEGRAM_MAX_RETRY_AFTER_SECONDS = env_float("PCP_TELEGRAM_MAX_RETRY_AFTER_SECONDS", 30.0, minimum=0.0)
# The bot's webhook (/telegram/webhook/) answers only requests carrying this secret in the
# X-Telegram-Bot-Api-Secret-Token header (setWebhook's secret_token); empty: no webhook (404).
PCP_TELEGRAM_WEBHOOK_SECRET = env_str("PCP_TELEGRAM_WEBHOOK_SECRET", "")

# IATI export (participants/results/iati.py). The project number is not on the public record, so
# the activity identifier is configured here; the export lists it as missing while it is empty.
PCP_IATI_ACTIVITY_IDENTIFIER = env_str("PCP_IATI_ACTIVITY_IDENTIFIER", "")
PCP_IATI_REPORTING_ORG_REF = env_str("PCP_IATI_REPORTING_ORG_REF", "XM-DAC-41123")
PCP_IATI_REPORTING_ORG_NAME = env_str(
    "PCP_IATI_REPORTING_ORG_NAME", "United Nations Industrial Development Organization"
)
# The whole-programme figures are read from a snapshot refreshed in the background
# (participants.reports.snapshot): beat refreshes it this often as a safety net, and a page
# computes live once it is older than the maximum age (the refreshes are failing).
PCP_FIGURES_SNAPSHOT_INTERVAL_SECONDS = env_int("PCP_FIGURES_SNAPSHOT_INTERVAL_SECONDS", 60, minimum=5)
PCP_FIGURES_SNAPSHOT_MAX_AGE_SECONDS = env_int("PCP_FIGURES_SNAPSHOT_MAX_AGE_SECONDS", 600, minimum=10)
# A change that moves the figures queues a refresh after its commit (deduplicated); off, only
# beat's refresh runs. The test suite turns it off where tests count their own queued work.
PCP_FIGURES_SNAPSHOT_ON_CHANGE = env_bool("PCP_FIGURES_SNAPSHOT_ON_CHANGE", True)
CELERY_BEAT_SCHEDULE["figures-snapshot-refresh"] = {
    "task": "participants.reports.tasks.refresh_figures_snapshot",
    "schedule": PCP_FIGURES_SNAPSHOT_INTERVAL_SECONDS,
    "options": {"expires": PCP_FIGURES_SNAPSHOT_INTERVAL_SECONDS},
}
