"""Representations of officials, enrolments and attendance, and the input of API writes.

Partners never see officials' e-mail or phone: their serializer does not have the fields.
Serializers validate and represent; participants.services does every write.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from courses.api.serializers import SESSION_YEAR_PATTERN
from courses.models import Course
from participants.models import Attendance, AttendanceStatus, Certificate, Enrollment, Official
from participants.services import validate_attendance_status
from pcp_portal.api import LinkField, PrimaryKeyRelatedField, datetime_formatter, detail_link
from pcp_portal.api.bases import PortalSerializer

MAX_VERSION = 2**31 - 1


class OfficialSerializer(PortalSerializer):
    """An official, with contact details (UNIDO officers and MIH staff)."""

    url = LinkField("official-detail", source="pk")
    ministry_url = LinkField("ministry-detail", source="ministry_id")

    class Meta(PortalSerializer.Meta):
        model = Official
        fields = [
            "id",
            "url",
            "family_name",
            "given_name",
            "name_km",
            "sex",
            "position",
            "ministry",
            "ministry_url",
            "preferred_language",
            "email",
            "phone",
            "created_at",
            "updated_at",
        ]


class PartnerOfficialSerializer(OfficialSerializer):
    """An official as partners see them: without e-mail and phone."""

    class Meta(OfficialSerializer.Meta):
        fields = [name for name in OfficialSerializer.Meta.fields if name not in ("email", "phone")]


class EnrollmentSerializer(PortalSerializer):
    """An enrolment, with the ministry name and position the official had when enrolled."""

    url = LinkField("enrollment-detail", source="pk")
    official_url = LinkField("official-detail", source="official_id")
    course_url = LinkField("course-detail", source="course_id")
    ministry_url = LinkField("ministry-detail", source="ministry_id")

    class Meta(PortalSerializer.Meta):
        model = Enrollment
        fields = [
            "id",
            "url",
            "official",
            "official_url",
            "course",
            "course_url",
            "status",
            "enrolled_on",
            "withdrawn_at",
            "withdrawal_reason",
            "ministry",
            "ministry_url",
            "ministry_name_en",
            "ministry_name_km",
            "ministry_acronym",
            "position",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field({"type": "string", "format": "date", "pattern": SESSION_YEAR_PATTERN})
class EnrolmentDateField(serializers.DateField):
    """A date in the years 2000 to 2100, as the schema states it."""

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if not 2000 <= value.year <= 2100:
            raise serializers.ValidationError(_("Give a date between the years 2000 and 2100."))
        return value


class EnrollmentCreateSerializer(serializers.Serializer):
    official = PrimaryKeyRelatedField(queryset=Official.objects.all())
    course = PrimaryKeyRelatedField(queryset=Course.objects.all())
    enrolled_on = EnrolmentDateField(required=False, help_text=_("Defaults to today."))


class EnrollmentUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)
    withdrawal_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AttendanceSerializer(PortalSerializer):
    url = LinkField("attendance-detail", source="pk")
    session_url = LinkField("session-detail", source="session_id")
    enrollment_url = LinkField("enrollment-detail", source="enrollment_id")
    official = serializers.IntegerField(source="official_ref", read_only=True)
    official_url = LinkField("official-detail", source="official_ref")
    course = serializers.IntegerField(source="course_ref", read_only=True)

    class Meta(PortalSerializer.Meta):
        model = Attendance
        fields = [
            "id",
            "url",
            "session",
            "session_url",
            "enrollment",
            "enrollment_url",
            "official",
            "official_url",
            "course",
            "status",
            "note",
            "recorded_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


ATTENDANCE_COLUMNS = (
    "id",
    "session_id",
    "enrollment_id",
    "official_ref",
    "course_ref",
    "status",
    "note",
    "recorded_at",
    "version",
    "created_at",
    "updated_at",
)


def attendance_rows(rows, request) -> list[dict]:
    """AttendanceSerializer's representation of `values_list(*ATTENDANCE_COLUMNS)` rows, written out
    by hand for the list (no serializer per row): the same keys, in the same order, with the same
    values (tests/api/test_resources.py holds the two equal)."""
    attendance, attendance_end = detail_link(request, "attendance-detail")
    session, session_end = detail_link(request, "session-detail")
    enrollment, enrollment_end = detail_link(request, "enrollment-detail")
    official, official_end = detail_link(request, "official-detail")
    iso = datetime_formatter()
    return [
        {
            "id": pk,
            "url": f"{attendance}{pk}{attendance_end}",
            "session": session_id,
            "session_url": f"{session}{session_id}{session_end}",
            "enrollment": enrollment_id,
            "enrollment_url": f"{enrollment}{enrollment_id}{enrollment_end}",
            "official": official_id,
            "official_url": None if official_id is None else f"{official}{official_id}{official_end}",
            "course": course_id,
            "status": status,
            "note": note,
            "recorded_at": iso(recorded_at),
            "version": version,
            "created_at": iso(created_at),
            "updated_at": iso(updated_at),
        }
        for (
            pk,
            session_id,
            enrollment_id,
            official_id,
            course_id,
            status,
            note,
            recorded_at,
            version,
            created_at,
            updated_at,
        ) in rows
    ]


def _attendance_status(value: str) -> str:
    try:
        return validate_attendance_status(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.message_dict["status"]) from None


class AttendanceStatusField(serializers.ChoiceField):
    """An attendance status, stated as an enum in the schema; an unknown one is refused with the
    service's own message (which lists the statuses)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=AttendanceStatus.choices, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return _attendance_status(data)


class RegisterRowSerializer(serializers.Serializer):
    """One official's line in the register: what GET gives and PUT takes back."""

    official = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    enrollment = serializers.IntegerField(read_only=True)
    attendance = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("The attendance row's id (null: nothing recorded yet).")
    )
    status = AttendanceStatusField(
        allow_null=True,
        help_text=_("Null: nothing recorded (in a PUT, a null status leaves the official's row as it is)."),
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=Attendance.NOTE_MAX_LENGTH)
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_VERSION,
        help_text=_("The version you last saw (0: no row yet). If the row moved on since, you get 409."),
    )


def _unique_officials(entries):
    # Errors are keyed by the entry's position, as DRF reports the entries' own field errors.
    seen = set()
    errors = {}
    for index, entry in enumerate(entries):
        if entry["official"] in seen:
            errors[index] = {"official": [_("This official is listed twice.")]}
        seen.add(entry["official"])
    if errors:
        raise serializers.ValidationError(errors)
    return entries


@extend_schema_serializer(deprecate_fields=["register"])
class RegisterSerializer(serializers.Serializer):
    """A session's register, the same shape both ways: GET it, change statuses, PUT it back.

    `attendance` is the list; `register` is its former name, still given and taken for this
    version of the API (in a PUT, only when `attendance` is absent) and then removed.
    """

    session = serializers.IntegerField(read_only=True)
    changed = serializers.IntegerField(
        read_only=True, help_text=_("Rows this request changed (0 for a repeat).")
    )
    attendance = RegisterRowSerializer(many=True, allow_empty=True, required=False)
    register = RegisterRowSerializer(
        many=True,
        allow_empty=True,
        required=False,
        help_text=_("Deprecated: the same list as `attendance`, under its former name."),
    )

    def validate_attendance(self, entries):
        return _unique_officials(entries)

    def validate_register(self, entries):
        return _unique_officials(entries)

    def validate(self, attrs):
        if "attendance" not in attrs and "register" not in attrs:
            required = self.fields["attendance"].error_messages["required"]
            raise serializers.ValidationError({"attendance": [required]})
        return attrs

    @property
    def list_name(self) -> str:
        """The name the caller used for the list (errors about its entries go under it)."""
        return "attendance" if "attendance" in self.initial_data else "register"

    @property
    def entries(self) -> list[dict]:
        return self.validated_data.get("attendance", self.validated_data.get("register"))


class CertificateSerializer(PortalSerializer):
    """A certificate of completion as issued (the `certificate.issued` webhook's `data`): the names
    and course title as printed, and the public verification page of its code. A course
    certificate names its enrolment and course; a series certificate its series (a project), with
    the series' title as `course_title` and no enrolment or course."""

    official = serializers.IntegerField(source="holder_id", read_only=True)
    official_url = LinkField("official-detail", source="holder_id")
    course = serializers.IntegerField(source="certified_course_id", read_only=True, allow_null=True)
    course_url = LinkField("course-detail", source="certified_course_id", allow_null=True)
    enrollment_url = LinkField("enrollment-detail", source="enrollment_id", allow_null=True)
    series_url = LinkField("project-detail", source="series_id", allow_null=True)
    verification_url = serializers.SerializerMethodField()

    class Meta(PortalSerializer.Meta):
        model = Certificate
        fields = [
            "id",
            "code",
            "verification_url",
            "enrollment",
            "enrollment_url",
            "series",
            "series_url",
            "official",
            "official_url",
            "course",
            "course_url",
            "holder_name",
            "holder_name_km",
            "course_title",
            "completed_on",
            "issued_at",
        ]
        read_only_fields = fields

    def get_verification_url(self, certificate: Certificate) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("certificate_verify_code", args=[certificate.code])
        )


class TranscriptSessionSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session_id")
    title = serializers.CharField()
    starts_at = serializers.DateTimeField(allow_null=True)
    cancelled = serializers.BooleanField()
    held = serializers.BooleanField(help_text=_("Started and not cancelled."))
    attendance = serializers.ChoiceField(
        choices=AttendanceStatus.choices,
        allow_blank=True,
        help_text=_("The official's attendance at the session; empty when not marked."),
    )


class TranscriptCourseSerializer(serializers.Serializer):
    enrollment = serializers.IntegerField(source="enrollment.pk")
    course = serializers.IntegerField(source="enrollment.course_id")
    course_title = serializers.CharField(source="enrollment.course.title")
    course_number = serializers.IntegerField(source="enrollment.course.number")
    status = serializers.ChoiceField(source="enrollment.status", choices=Enrollment.Status.choices)
    enrolled_on = serializers.DateField(source="enrollment.enrolled_on")
    ministry = serializers.IntegerField(source="enrollment.ministry_id")
    ministry_name_en = serializers.CharField(source="enrollment.ministry_name_en")
    ministry_name_km = serializers.CharField(source="enrollment.ministry_name_km")
    sessions_held = serializers.IntegerField(source="held")
    sessions_attended = serializers.IntegerField(source="attended")
    completion = serializers.ChoiceField(
        choices=["completed", "not_completed", "not_yet_held", "withdrawn"],
        help_text=_(
            "completed / not_completed against the course's threshold of held sessions (as in the "
            "reports); not_yet_held when no session of the course has been held; withdrawn."
        ),
    )
    sessions = TranscriptSessionSerializer(many=True)


class TranscriptSeriesSerializer(serializers.Serializer):
    series = serializers.IntegerField(source="project_id", help_text=_("The series (project) id."))
    title = serializers.CharField()
    courses = serializers.IntegerField(help_text=_("Courses in the series."))
    courses_held = serializers.IntegerField(help_text=_("Courses of the series with a session held."))
    courses_required = serializers.IntegerField(
        help_text=_("Completed courses the series' rule asks for today (never more than those held).")
    )
    courses_completed = serializers.IntegerField()
    completion = serializers.ChoiceField(
        choices=["completed", "not_completed", "not_yet_held"],
        help_text=_(
            "completed when the official completed the courses the series' rule asks for, as on "
            "the series page; not_yet_held while no course of the series has been held."
        ),
    )


class TranscriptSerializer(serializers.Serializer):
    """An official's transcript; the official as the caller's role sees them (partners: no contact)."""

    official = serializers.SerializerMethodField()
    series = TranscriptSeriesSerializer(many=True)
    courses = TranscriptCourseSerializer(many=True)

    @extend_schema_field(OfficialSerializer)
    def get_official(self, transcript) -> dict:
        return self.context["official_serializer"](transcript.official, context=self.context).data
