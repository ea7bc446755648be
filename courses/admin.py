from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from courses.models import Course, Programme, Project, Session


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "start_year", "end_year", "joint_declaration_date")
    search_fields = ("name", "short_name", "country")
    list_filter = ("country",)
    readonly_fields = ("reference_key", "created_at", "updated_at")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("__str__", "programme", "donor", "unido_project_number")
    search_fields = ("title", "short_title", "unido_project_number", "donor")
    list_filter = ("programme",)
    readonly_fields = ("reference_key", "created_at", "updated_at")


@admin.register(Course)
class CourseAdmin(SimpleHistoryAdmin):
    list_display = (
        "number",
        "title",
        "project",
        "venue",
        "start_date",
        "end_date",
        "reported_participants",
        "status",
    )
    search_fields = ("title", "topic", "venue")
    list_filter = ("project", "status")
    # Cancelling is a workflow (courses.services.course_cancel cancels the sessions too): not a field edit.
    readonly_fields = (
        "reference_key",
        "status",
        "cancelled_at",
        "cancellation_reason",
        "created_at",
        "updated_at",
    )


@admin.register(Session)
class SessionAdmin(SimpleHistoryAdmin):
    list_display = ("title", "course", "starts_at", "ends_at", "venue", "status", "is_demo")
    search_fields = ("title", "topic", "venue", "facilitators")
    list_filter = ("status", "course", "is_demo")
    date_hierarchy = "starts_at"
    readonly_fields = ("created_at", "updated_at")


# API access (issue 4): keys are created here or with `manage.py create_api_key`, shown once, and
# revoked here; a revoked or expired key stops working on its next request.
from rest_framework_api_key.admin import APIKeyModelAdmin  # noqa: E402

from courses.models import APIAccessKey, DeletedRecord  # noqa: E402


@admin.register(APIAccessKey)
class APIAccessKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "role")
    list_filter = ("role", "revoked", "created")


@admin.register(DeletedRecord)
class DeletedRecordAdmin(admin.ModelAdmin):
    list_display = ("resource", "object_id", "deleted_at")
    list_filter = ("resource",)
    search_fields = ("resource", "object_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
