"""The API's URLs: /api/v1/ (namespace `v1`), the OpenAPI schema and its human page."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from courses.api import schema  # noqa: F401 - registers the schema extensions
from courses.api import views as courses
from ministries.api import views as ministries
from participants.api import views as participants
from pcp_portal.api import READERS, not_found
from pcp_portal.changefeed import ChangeFeedView


class APIRootView(DefaultRouter.APIRootView):
    """The API's entry point: links to every resource."""

    api_read_roles = READERS


router = DefaultRouter()
router.include_format_suffixes = False
router.APIRootView = APIRootView
router.register("programmes", courses.ProgrammeViewSet, basename="programme")
router.register("projects", courses.ProjectViewSet, basename="project")
router.register("courses", courses.CourseViewSet, basename="course")
router.register("sessions", courses.SessionViewSet, basename="session")
router.register("ministries", ministries.MinistryViewSet, basename="ministry")
router.register("officials", participants.OfficialViewSet, basename="official")
router.register("enrollments", participants.EnrollmentViewSet, basename="enrollment")
router.register("attendance", participants.AttendanceViewSet, basename="attendance")
router.register("deleted", courses.DeletedRecordViewSet, basename="deleted")

# The resources the change feed serves, each represented as its own list represents it.
FEED_RESOURCES = {
    "programmes": courses.ProgrammeViewSet,
    "projects": courses.ProjectViewSet,
    "courses": courses.CourseViewSet,
    "sessions": courses.SessionViewSet,
    "ministries": ministries.MinistryViewSet,
    "officials": participants.OfficialViewSet,
    "enrollments": participants.EnrollmentViewSet,
    "attendance": participants.AttendanceViewSet,
}

v1 = [
    path("changes/", ChangeFeedView.as_view(resources=FEED_RESOURCES), name="changes"),
    re_path(
        r"^sessions/(?P<pk>[0-9]{1,18})/register/$",
        participants.SessionRegisterView.as_view(),
        name="session-register",
    ),
    *router.urls,
    # Last: any other address under /api/v1/ gets the API's JSON 404, not the site's HTML page.
    re_path(r"^.*/$", not_found, name="not-found"),
]

urlpatterns = [
    path("v1/", include((v1, "v1"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
