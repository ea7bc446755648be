"""Root URL configuration: each app brings its own urls module."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from courses import views as course_views
from courses.reports import api as report_api
from courses.reports import views as report_views
from pcp_portal import audit, health, two_factor

urlpatterns = [
    path("", course_views.home, name="home"),
    path("accounts/login/", two_factor.LoginView.as_view(), name="login"),
    path("accounts/two-factor/", two_factor.two_factor_setup, name="two_factor"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(settings.ADMIN_URL, admin.site.urls),
    path(
        "api/v1/reports/attendance-summary/",
        report_api.AttendanceSummaryView.as_view(),
        name="api-attendance-summary",
    ),
    path("api/", include("courses.api.urls")),
    path("reports/", include("courses.reports.urls")),
    path("verify/", report_views.verify, name="certificate_verify"),
    path("verify/<str:code>/", report_views.verify, name="certificate_verify_code"),
    path("", include("courses.urls")),
    path("", include("participants.urls")),
    path("imports/", include("participants.imports.urls")),
    path("", include("participants.reminder_urls")),
]

# A real 500 page; for a dead database or broker, 503 with Retry-After (pcp_portal/degrade.py).
handler500 = "pcp_portal.degrade.server_error"
