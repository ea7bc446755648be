"""Root URL configuration: each app brings its own urls module; the API (/api/v1/, its schema and
docs) is assembled here from the apps' api/ views, this being the one module that imports every app."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from courses.api import views as course_api
from ministries.api import views as ministry_api
from participants import pages
from participants.api import views as participant_api
from participants.reports import api as report_api
from participants.reports import views as report_views
from participants.results import views as results_views
from pcp_portal import audit, health, preferences, service_worker, two_factor
from pcp_portal.api import (
    READERS,
    not_found,
    schema,  # noqa: F401 - registers the schema extensions
)
from pcp_portal.changefeed import ChangeFeedView
from pcp_portal.webhooks import api as webhook_api

# --- the API -------------------------------------------------------------------------------------


class APIRootView(DefaultRouter.APIRootView):
    """The API's entry point: links to every resource."""

    api_read_roles = READERS


router = DefaultRouter()
router.include_format_suffixes = False
router.APIRootView = APIRootView

# The resources partners copy (pcp_portal.models.TOMBSTONED_MODELS, in its order; a test holds
# them equal): each has its routes, and the change feed serves it as its own list represents it.
FEED_RESOURCES = {
    "programmes": course_api.ProgrammeViewSet,
    "projects": course_api.ProjectViewSet,
    "courses": course_api.CourseViewSet,
    "sessions": course_api.SessionViewSet,
    "ministries": ministry_api.MinistryViewSet,
    "officials": participant_api.OfficialViewSet,
    "enrollments": participant_api.EnrollmentViewSet,
    "attendance": participant_api.AttendanceViewSet,
}
# What webhook payloads are made of: the change feed's resources, and certificates (issued once,
# never changed: an event without an endpoint of its own).
WEBHOOK_RESOURCES = {**FEED_RESOURCES, "certificates": participant_api.CertificateViewSet}
for _prefix, _viewset in FEED_RESOURCES.items():
    router.register(_prefix, _viewset, basename=_viewset.queryset.model._meta.model_name)
router.register("deleted", course_api.DeletedRecordViewSet, basename="deleted")
router.register("webhooks/subscriptions", webhook_api.SubscriptionViewSet, basename="webhook-subscription")
router.register("webhooks/deliveries", webhook_api.DeliveryViewSet, basename="webhook-delivery")

v1 = [
    path("changes/", ChangeFeedView.as_view(resources=FEED_RESOURCES), name="changes"),
    re_path(
        r"^sessions/(?P<pk>[0-9]{1,18})/register/$",
        participant_api.SessionRegisterView.as_view(),
        name="session-register",
    ),
    *router.urls,
    # Last: any other address under /api/v1/ gets the API's JSON 404, not the site's HTML page.
    re_path(r"^.*/$", not_found, name="not-found"),
]

api_urlpatterns = [
    path("v1/", include((v1, "v1"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# --- the site ------------------------------------------------------------------------------------

urlpatterns = [
    path("", pages.home, name="home"),
    path("accounts/login/", two_factor.LoginView.as_view(), name="login"),
    path("accounts/two-factor/", two_factor.two_factor_setup, name="two_factor"),
    path("accounts/preferences/", preferences.preferences, name="preferences"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("sw.js", service_worker.service_worker, name="service_worker"),
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
    path("api/", include(api_urlpatterns)),
    path("reports/iati.xml", results_views.iati_xml, name="iati_xml"),
    path("reports/", include("participants.reports.urls")),
    path("results/", include("participants.results.urls")),
    path("public/", include("participants.public_urls")),
    path("verify/", report_views.verify, name="certificate_verify"),
    path("verify/<str:code>/", report_views.verify, name="certificate_verify_code"),
    path("", include("courses.urls")),
    path("", include("participants.urls")),
    path("", include("participants.checkin.urls")),
    path("imports/", include("participants.imports.urls")),
    path("", include("participants.reminder_urls")),
    path("", include("participants.surveys.urls")),
]

# A real 500 page; for a dead database or broker, 503 with Retry-After (pcp_portal/degrade.py).
handler500 = "pcp_portal.degrade.server_error"
