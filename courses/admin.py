"""The admin for programmes, projects, courses and sessions; session edits go through the services."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from courses.models import (
    CalendarFeedToken,
    Course,
    Indicator,
    IndicatorPeriod,
    Programme,
    Project,
    Result,
    SeriesCompletionRule,
    Session,
)
from courses.services import session_create, session_update
from pcp_portal.admin import ReadOnlyAdmin


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "start_year", "end_year", "joint_declaration_date")
    search_fields = ("name", "short_name", "name_km", "short_name_km", "country")
    list_filter = ("country",)
    readonly_fields = ("reference_key", "created_at", "updated_at")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("__str__", "programme", "donor", "unido_project_number")
    search_fields = ("title", "short_title", "title_km", "short_title_km", "unido_project_number", "donor")
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
    search_fields = ("title", "title_km", "topic", "venue")
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


class SessionAdminForm(forms.ModelForm):
    class Meta:
        model = Session
        fields = (
            "course",
            "title",
            "title_km",
            "topic",
            "starts_at",
            "ends_at",
            "venue",
            "venue_km",
            "facilitators",
            "is_demo",
        )

    def clean_course(self):
        # The service refuses this too (under a lock); here it becomes a message beside the field.
        course = self.cleaned_data["course"]
        if self.instance.pk is None and course.is_cancelled:
            raise forms.ValidationError(_("This course is cancelled: no session can be added to it."))
        return course


@admin.register(Session)
class SessionAdmin(SimpleHistoryAdmin):
    form = SessionAdminForm
    list_display = ("title", "course", "starts_at", "ends_at", "venue", "status", "is_demo")
    search_fields = ("title", "title_km", "topic", "venue", "venue_km", "facilitators")
    list_filter = ("status", "course", "is_demo")
    date_hierarchy = "starts_at"
    # Cancelling goes through the portal's cancel page (courses.services.session_cancel), which
    # tells the officials; the admin must not flip the status behind the reminders' back.
    readonly_fields = ("status", "cancelled_at", "cancellation_reason", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        """Through the services, so an edit here obeys the same rules and sends the same notices
        (a moved session: one update per reminded official) as an edit in the portal."""
        if change:
            session_update(session=obj, changed_by=request.user)
            return
        fields = {name: value for name, value in form.cleaned_data.items() if name != "course"}
        obj.pk = session_create(course=obj.course, changed_by=request.user, **fields).pk


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(admin.ModelAdmin):
    """Read and revoke only: a feed is made on the calendar feeds page, where its secret is shown
    once; the database holds only the secret's hash, so there is nothing here to copy."""

    list_display = ("owner", "scope", "course", "ministry", "label", "created_at", "expires_at", "revoked_at")
    search_fields = ("owner__username", "label")
    list_filter = ("scope",)
    fields = ("owner", "scope", "course", "ministry", "label", "expires_at", "revoked_at", "created_at")
    readonly_fields = ("owner", "scope", "course", "ministry", "label", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(SeriesCompletionRule)
class SeriesCompletionRuleAdmin(SimpleHistoryAdmin):
    """Read only, with its history: a rule is set on the series page, whose service checks it
    against the series' courses (a minimum above their number is refused there)."""

    list_display = ("project", "min_courses")
    search_fields = ("project__title", "project__short_title")
    readonly_fields = ("project", "min_courses")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The results framework is edited on its own pages (courses/results), whose services keep the tree,
# the periods and the definitions consistent; here it is read, with each row's history.
@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("title_en", "level", "programme", "project", "position")
    list_filter = ("level",)
    search_fields = ("title_en", "title_km", "description")
    list_select_related = ("programme", "project")


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("title_en", "result", "measure", "source", "definition")
    list_filter = ("source", "definition")
    search_fields = ("title_en", "title_km", "result__title_en")
    list_select_related = ("result",)


@admin.register(IndicatorPeriod)
class IndicatorPeriodAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = (
        "indicator",
        "period_start",
        "period_end",
        "sex",
        "ministry",
        "target_value",
        "actual_value",
    )
    list_filter = ("sex", "ministry")
    search_fields = ("indicator__title_en", "indicator__title_km", "actual_note")
    list_select_related = ("indicator", "ministry")
