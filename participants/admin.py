"""The admin for officials, enrolments and attendance writes through participants.services, like
every other door: the same rules (a stale attendance row, a cancelled course, the ministry of
the day), the same version step and the same snapshot. The ledgers are read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from participants import services
from participants.checkin import services as checkin_services
from participants.models import (
    Attendance,
    Certificate,
    Enrollment,
    EnrolmentRollup,
    ExportJob,
    FiguresSnapshot,
    ImportBatch,
    ImportProgress,
    ImportRow,
    Official,
    OfficialMerge,
    ReminderDelivery,
    SelfCheckIn,
    SessionRollup,
    SignInCode,
    WalkIn,
)
from participants.views import stale_message
from pcp_portal.admin import ReadOnlyAdmin


class ServiceForm(forms.ModelForm):
    """An admin form whose saving is a call to a service, made as the last step of validation.

    The admin validates and saves inside one transaction. Calling the service at the end of
    validation, rather than in save_model, lets its refusals (a row changed meanwhile, a
    cancelled course, a ministry that did not exist then) appear beside the fields with what the
    superuser typed, instead of a server error after the form was accepted. The service's own
    transaction rolls back whatever it began when it refuses.
    """

    changed_by = None  # the admin user: set on the class by ServiceAdmin.get_form
    written = None

    def write(self):
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            self.written = self.write()
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
            else:
                self.add_error(None, error)


class ServiceAdmin(SimpleHistoryAdmin):
    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"changed_by": request.user})

    def save_model(self, request, obj, form, change):
        # Written already by the service (ServiceForm.write); the admin only needs the id.
        obj.pk = form.written.pk


class OfficialAdminForm(ServiceForm):
    class Meta:
        model = Official
        fields = (
            "family_name",
            "given_name",
            "name_km",
            "sex",
            "position",
            "ministry",
            "department",
            "email",
            "phone",
            "preferred_language",
            "reminders_opt_out_at",
            "is_demo",
        )

    def write(self):
        if self.instance.pk is None:
            return services.official_create(changed_by=self.changed_by, **self.cleaned_data)
        return services.official_update(
            official=self.instance, changed_by=self.changed_by, **self.cleaned_data
        )


@admin.register(Official)
class OfficialAdmin(ServiceAdmin):
    form = OfficialAdminForm
    list_display = ("full_name", "name_km", "sex", "ministry", "position", "email", "is_demo")
    search_fields = ("family_name", "given_name", "name_km", "email", "phone", "ministry__acronym")
    list_filter = ("sex", "preferred_language", "is_demo", "ministry")
    autocomplete_fields = ("ministry", "department")
    readonly_fields = ("created_at", "updated_at")


class EnrollmentAdminForm(ServiceForm):
    class Meta:
        model = Enrollment
        fields = ("official", "course", "enrolled_on", "status", "withdrawal_reason", "is_demo")

    def write(self):
        data = self.cleaned_data
        if self.instance.pk is None:
            return services.enrollment_create(
                official=data["official"],
                course=data["course"],
                enrolled_on=data["enrolled_on"],
                is_demo=data.get("is_demo", False),
                changed_by=self.changed_by,
            )
        stored = Enrollment.objects.get(pk=self.instance.pk)
        if data["status"] == Enrollment.Status.WITHDRAWN and stored.status != Enrollment.Status.WITHDRAWN:
            return services.enrollment_withdraw(
                enrollment=stored, reason=data.get("withdrawal_reason", ""), changed_by=self.changed_by
            )
        if data["status"] == Enrollment.Status.ENROLLED and stored.status != Enrollment.Status.ENROLLED:
            return services.enrollment_reinstate(enrollment=stored, changed_by=self.changed_by)
        if data.get("withdrawal_reason", "") != stored.withdrawal_reason:
            raise ValidationError(
                {
                    "withdrawal_reason": gettext(
                        "The reason is given when withdrawing: reinstate the official, then withdraw "
                        "them again with the new reason."
                    )
                }
            )
        return stored


@admin.register(Enrollment)
class EnrollmentAdmin(ServiceAdmin):
    """Enrolling takes the snapshot (ministry and position of the day) through enrollment_create;
    a change is a withdrawal or a reinstatement. Who, which course and when stay as enrolled."""

    form = EnrollmentAdminForm
    list_display = ("official", "course", "status", "enrolled_on", "ministry_name_en", "is_demo")
    search_fields = ("official__family_name", "official__given_name", "official__name_km", "official__email")
    list_filter = ("status", "course", "is_demo")
    autocomplete_fields = ("official",)
    list_select_related = ("official", "course")
    SNAPSHOT = ("ministry", "ministry_name_en", "ministry_name_km", "ministry_acronym", "position")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return (*self.SNAPSHOT, "status", "withdrawn_at", "withdrawal_reason", "created_at", "updated_at")
        return (
            "official",
            "course",
            "enrolled_on",
            "is_demo",
            *self.SNAPSHOT,
            "withdrawn_at",
            "created_at",
            "updated_at",
        )

    def get_changeform_initial_data(self, request):
        return {"enrolled_on": timezone.localdate(), **super().get_changeform_initial_data(request)}

    def revert_disabled(self, request, obj=None):
        return True  # a snapshot is never rewritten; withdraw or reinstate instead


class AttendanceAdminForm(ServiceForm):
    # The version the superuser read: a row changed since (on the register) is refused, not overwritten.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

    class Meta:
        model = Attendance
        fields = ("enrollment", "session", "status", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version if self.instance.pk else 0

    def write(self):
        # The instance carries the row's enrolment and session (read-only once it exists).
        data = self.cleaned_data
        enrollment, session = self.instance.enrollment, self.instance.session
        try:
            attendance, _changed = services.attendance_record(
                enrollment=enrollment,
                session=session,
                status=data["status"],
                note=data.get("note", ""),
                recorded_by=self.changed_by,
                expected_version=data.get("version"),
            )
        except services.StaleAttendanceError as stale:
            raise ValidationError(stale_message(stale.current, enrollment.official)) from None
        return attendance


@admin.register(Attendance)
class AttendanceAdmin(ServiceAdmin):
    """A change here is a change on the register: attendance_record with the admin as recorder,
    the version stepped and the stale check applied (the form carries the version it was read at)."""

    form = AttendanceAdminForm
    list_display = ("enrollment", "session", "status", "recorded_by", "recorded_at", "version")
    search_fields = ("enrollment__official__family_name", "enrollment__official__name_km", "session__title")
    list_filter = ("status", "session__course", "is_demo")
    raw_id_fields = ("enrollment", "session")
    list_select_related = ("enrollment__official", "session", "recorded_by")
    fields = ("enrollment", "session", "status", "note", "version", "register", "recorded_by", "recorded_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = ("register", "recorded_by", "recorded_at", "created_at", "updated_at")
        return readonly if obj is None else ("enrollment", "session", *readonly)

    @admin.display(description=_("register"))
    def register(self, obj):
        if obj is None or obj.session_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("session_detail", args=[obj.session_id]),
            gettext("Open the register"),
        )

    def revert_disabled(self, request, obj=None):
        return True  # a revert would bypass the version; change the status here or on the register


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(admin.ModelAdmin):
    """The reminder ledger, read-only: rows are written by participants/reminders/ alone."""

    list_display = (
        "official",
        "session",
        "kind",
        "key",
        "status",
        "channel",
        "attempts",
        "sent_at",
        "reason",
    )
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


@admin.register(OfficialMerge)
class OfficialMergeAdmin(admin.ModelAdmin):
    """The record of merges, read-only: written and undone by participants/merging.py alone (from
    the officials' pages), since only it knows how to put the moved rows back."""

    list_display = ("merged_at", "merged_name", "merged_official_id", "survivor", "merged_by", "undone_at")
    search_fields = ("merged_name", "survivor__family_name", "survivor__given_name", "survivor__name_km")
    list_select_related = ("survivor", "merged_by")
    exclude = ("merged_data", "survivor_before", "moved")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    """Report exports written by a worker (participants/reports/jobs.py), removed after their time."""

    list_display = ("file_name", "user", "report", "format", "state", "rows_done", "rows_total", "created_at")
    list_filter = ("state", "report", "format")
    search_fields = ("file_name", "user__username", "reason")
    list_select_related = ("user",)


@admin.register(ImportRow)
class ImportRowAdmin(ReadOnlyAdmin):
    """An import's plan, row by row, as its preview lists it: written by participants/imports alone."""

    list_display = ("batch", "line", "action")
    list_filter = ("action",)
    search_fields = ("batch__filename", "batch__uploaded_by__username")
    list_select_related = ("batch",)


@admin.register(ImportProgress)
class ImportProgressAdmin(ReadOnlyAdmin):
    """Where a background import stands, as its page shows it: written by the import's tasks."""

    list_display = ("batch", "phase", "done", "total", "started_at", "updated_at")
    list_filter = ("phase",)
    search_fields = ("batch__filename", "batch__uploaded_by__username")
    list_select_related = ("batch",)


@admin.register(EnrolmentRollup)
class EnrolmentRollupAdmin(ReadOnlyAdmin):
    """Derived from the attendance by participants.rollups; shown to check a figure, never edited."""

    list_display = (
        "enrollment",
        "course",
        "official",
        "ministry_acronym",
        "sex",
        "active",
        "attended",
        "late",
    )
    list_filter = ("active", "sex")
    search_fields = ("enrollment__id", "official__family_name", "official__given_name", "ministry_name_en")
    raw_id_fields = ("enrollment", "course", "official", "ministry")


@admin.register(FiguresSnapshot)
class FiguresSnapshotAdmin(ReadOnlyAdmin):
    """Derived by participants.reports.snapshot in the background; shown to check when and what."""

    list_display = ("key", "computed_at", "valid_until", "claimed_request")
    search_fields = ("key",)


@admin.register(SessionRollup)
class SessionRollupAdmin(ReadOnlyAdmin):
    """Derived from the attendance by participants.rollups; shown to check a figure, never edited."""

    list_display = ("session", "sex", "ministry", "attended", "late", "excused", "absent")
    list_filter = ("sex",)
    search_fields = ("session__title", "session__course__title", "ministry__name_en", "ministry__acronym")
    raw_id_fields = ("session", "ministry")


@admin.register(SignInCode)
class SignInCodeAdmin(ReadOnlyAdmin):
    """The row codes printed on sign-in sheets: made when a sheet is printed, never edited (a
    changed code would no longer match the paper)."""

    list_display = ("code", "session", "enrollment", "created_at")
    search_fields = ("code", "enrollment__official__family_name", "enrollment__official__name_km")
    list_select_related = ("session", "enrollment__official")


@admin.register(SelfCheckIn)
class SelfCheckInAdmin(ReadOnlyAdmin):
    """Officials' own check-ins by QR code: written and undone from the register (participants/checkin/)."""

    list_display = (
        "checked_in_at",
        "enrollment",
        "session",
        "status",
        "ip_address",
        "undone_at",
        "undone_by",
    )
    list_filter = ("status",)
    search_fields = (
        "enrollment__official__family_name",
        "enrollment__official__given_name",
        "enrollment__official__name_km",
        "session__title",
    )
    list_select_related = ("enrollment__official", "enrollment__course", "session", "undone_by")


@admin.register(WalkIn)
class WalkInAdmin(ReadOnlyAdmin):
    """People who were not enrolled and left their name on the check-in page. Confirmed (enrolled
    and marked) or dismissed through the same services as the register's buttons."""

    list_display = ("arrived_at", "name", "ministry", "phone", "session", "status", "decided_by")
    list_filter = ("status",)
    search_fields = ("name", "phone", "session__title", "ministry__name_en", "ministry__acronym")
    list_select_related = ("ministry", "session", "decided_by")
    actions = ("confirm", "dismiss")

    def _decide(self, request, queryset, decide) -> None:
        for walk_in in queryset:
            try:
                decide(walk_in, request.user)
            except ValidationError as error:
                self.message_user(request, f"{walk_in.name}: {' '.join(error.messages)}", messages.ERROR)

    @admin.action(description=_("Enrol and mark the selected walk-ins"))
    def confirm(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda walk_in, user: checkin_services.walk_in_confirm(walk_in=walk_in, confirmed_by=user),
        )

    @admin.action(description=_("Dismiss the selected walk-ins"))
    def dismiss(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda walk_in, user: checkin_services.walk_in_dismiss(walk_in=walk_in, dismissed_by=user),
        )
