"""Representations of programmes, projects, courses and sessions; session input validation.

Serializers validate and represent. Writes go through courses.services.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses.models import Course, Programme, Project, Session
from pcp_portal.api import LinkField
from pcp_portal.api.bases import PortalSerializer
from pcp_portal.models import DeletedRecord


class ProgrammeSerializer(PortalSerializer):
    url = LinkField("programme-detail", source="pk")

    class Meta(PortalSerializer.Meta):
        model = Programme
        fields = [
            "id",
            "url",
            "name",
            "short_name",
            "country",
            "start_year",
            "end_year",
            "joint_declaration_date",
            "joint_declaration_place",
            "signatories",
            "focus_areas",
            "cross_cutting_areas",
            "revised_document_date",
            "revised_focus_areas",
            "revised_cross_cutting_areas",
            "funding_partners",
            "description",
            "name_km",
            "short_name_km",
            "description_km",
            "sources",
            "created_at",
            "updated_at",
        ]


class ProjectSerializer(PortalSerializer):
    url = LinkField("project-detail", source="pk")
    programme_url = LinkField("programme-detail", source="programme_id")

    class Meta(PortalSerializer.Meta):
        model = Project
        fields = [
            "id",
            "url",
            "programme",
            "programme_url",
            "title",
            "short_title",
            "title_km",
            "short_title_km",
            "unido_project_number",
            "implementing_agency",
            "national_partner",
            "donor",
            "partners",
            "counterparts",
            "start_date",
            "end_date",
            "budget_usd",
            "description",
            "description_km",
            "sources",
            "created_at",
            "updated_at",
        ]


class CourseSerializer(PortalSerializer):
    url = LinkField("course-detail", source="pk")
    project_url = LinkField("project-detail", source="project_id")

    class Meta(PortalSerializer.Meta):
        model = Course
        fields = [
            "id",
            "url",
            "project",
            "project_url",
            "number",
            "title",
            "title_km",
            "topic",
            "venue",
            "start_date",
            "end_date",
            "partners",
            "reported_participants",
            "completion_threshold",
            "description",
            "description_km",
            "status",
            "cancelled_at",
            "cancellation_reason",
            "sources",
            "created_at",
            "updated_at",
        ]
        # Cancelling a course is a workflow (courses.services.course_cancel), never a field write.
        read_only_fields = ["status", "cancelled_at", "cancellation_reason"]


# The years a session time may have, as the schema states them (a pattern on the text) and as
# the API checks them: on the year as written, so an offset cannot carry 2000-01-01T00:00+14:00
# into 1999 and turn a value the schema allows into a refusal.
SESSION_YEAR_PATTERN = r"^(20[0-9]{2}|2100)-"


@extend_schema_field({"type": "string", "format": "date-time", "pattern": SESSION_YEAR_PATTERN})
class SessionTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        year = value[:4] if isinstance(value, str) else None
        if year is not None and not (year.isdigit() and 2000 <= int(year) <= 2100):
            raise serializers.ValidationError(_("Give a time between the years 2000 and 2100."))
        # RFC 3339 allows a lower-case `t` and `z`; Python's parser wants them upper-case.
        return super().to_internal_value(value.upper() if isinstance(value, str) else value)


class SessionSerializer(PortalSerializer):
    """A session. Staff create and update sessions; set `status` to `cancelled` to cancel one."""

    url = LinkField("session-detail", source="pk")
    course_url = LinkField("course-detail", source="course_id")
    register_url = LinkField("session-register", source="pk")
    starts_at = SessionTimeField(required=False, allow_null=True)
    ends_at = SessionTimeField(required=False, allow_null=True)

    class Meta(PortalSerializer.Meta):
        model = Session
        fields = [
            "id",
            "url",
            "course",
            "course_url",
            "register_url",
            "title",
            "title_km",
            "topic",
            "starts_at",
            "ends_at",
            "venue",
            "venue_km",
            "facilitators",
            "status",
            "cancelled_at",
            "cancellation_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["cancelled_at", "created_at", "updated_at"]

    def validate_course(self, course):
        if self.instance is not None and course.pk != self.instance.course_id:
            raise serializers.ValidationError(_("A session cannot move to another course."))
        return course

    def validate(self, attrs):
        starts_at = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends_at = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if ends_at is not None and starts_at is None:
            raise serializers.ValidationError({"ends_at": [_("Give the start time too.")]})
        if ends_at is not None and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": [_("A session must end after it starts.")]})
        status = attrs.get("status")
        if (
            self.instance is not None
            and self.instance.status == Session.Status.CANCELLED
            and status == Session.Status.SCHEDULED
        ):
            raise serializers.ValidationError({"status": [_("A cancelled session cannot be rescheduled.")]})
        if self.instance is None and status == Session.Status.CANCELLED:
            raise serializers.ValidationError({"status": [_("A new session cannot start cancelled.")]})
        return attrs


class DeletedRecordSerializer(PortalSerializer):
    class Meta(PortalSerializer.Meta):
        model = DeletedRecord
        fields = ["id", "resource", "object_id", "deleted_at", "replaced_by"]
        extra_kwargs = {
            "replaced_by": {"help_text": gettext_lazy("The id the deleted row was merged into, if it was.")}
        }
