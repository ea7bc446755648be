from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from participants.models import (
    Attendance,
    Certificate,
    Enrollment,
    ImportBatch,
    Official,
    ReminderDelivery,
)


@admin.register(Official)
class OfficialAdmin(SimpleHistoryAdmin):
    list_display = ("full_name", "name_km", "sex", "ministry", "position", "email", "is_demo")
    search_fields = ("family_name", "given_name", "name_km", "email", "phone", "ministry__acronym")
    list_filter = ("sex", "preferred_language", "is_demo", "ministry")
    autocomplete_fields = ("ministry", "department")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Enrollment)
class EnrollmentAdmin(SimpleHistoryAdmin):
    list_display = ("official", "course", "status", "enrolled_on", "ministry_name_en", "is_demo")
    search_fields = ("official__family_name", "official__given_name", "official__name_km", "official__email")
    list_filter = ("status", "course", "is_demo")
    autocomplete_fields = ("official", "ministry")
    readonly_fields = ("created_at", "updated_at")
    list_select_related = ("official", "course")


@admin.register(Attendance)
class AttendanceAdmin(SimpleHistoryAdmin):
    list_display = ("enrollment", "session", "status", "recorded_by", "recorded_at", "version")
    search_fields = ("enrollment__official__family_name", "enrollment__official__name_km", "session__title")
    list_filter = ("status", "session__course", "is_demo")
    raw_id_fields = ("enrollment", "session")
    readonly_fields = ("recorded_by", "recorded_at", "version", "created_at", "updated_at")
    list_select_related = ("enrollment__official", "session", "recorded_by")


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(admin.ModelAdmin):
    """The reminder ledger, read-only: rows are written by participants/reminders.py alone."""

    list_display = ("official", "session", "kind", "key", "status", "attempts", "sent_at", "reason")
    search_fields = ("official__family_name", "official__given_name", "official__email", "session__title")
    list_filter = ("status", "kind")
    list_select_related = ("official", "session")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """The import record, read-only: batches are written by participants/imports alone."""

    list_display = ("created_at", "kind", "filename", "status", "uploaded_by", "applied_at")
    search_fields = ("filename", "checksum", "uploaded_by__username", "message")
    list_filter = ("kind", "status")
    list_select_related = ("uploaded_by",)
    exclude = ("rows",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Certificates, read-only: issued by participants/certificates.py from the report page."""

    list_display = ("code", "holder_name", "course_title", "completed_on", "issued_at")
    search_fields = ("code", "holder_name", "holder_name_km", "course_title")
    list_select_related = ("enrollment",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
