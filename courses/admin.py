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
    list_display = ("number", "title", "project", "venue", "start_date", "end_date", "reported_participants")
    search_fields = ("title", "topic", "venue")
    list_filter = ("project",)
    readonly_fields = ("reference_key", "created_at", "updated_at")


@admin.register(Session)
class SessionAdmin(SimpleHistoryAdmin):
    list_display = ("title", "course", "starts_at", "ends_at", "venue", "status", "is_demo")
    search_fields = ("title", "topic", "venue", "facilitators")
    list_filter = ("status", "course", "is_demo")
    date_hierarchy = "starts_at"
    readonly_fields = ("created_at", "updated_at")
