"""API views of officials, enrolments, attendance and a session's register. Thin: writes call
participants.services."""

from __future__ import annotations

from django.db.models import F, FilteredRelation, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from courses.models import Session
from participants import services
from participants.api import serializers as api
from participants.api.filters import AttendanceFilter, EnrollmentFilter, OfficialFilter
from participants.models import Attendance, Certificate, Enrollment, Official
from participants.transcripts import official_transcript
from pcp_portal.api import (
    READERS,
    WRITERS,
    ETagRetrieveMixin,
    IdempotentWritesMixin,
    RowListMixin,
    StrictQueryParamsMixin,
    sees_contact_details,
)
from pcp_portal.api.bases import ID_PATTERN, SYNC_NOTE, ReadOnlyResource


def _portal_user(request):
    """The portal account behind a request, for history; None for an API key."""
    return request.user if getattr(request.user, "pk", None) else None


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("List officials"),
        description=SYNC_NOTE + " " + gettext_lazy("Partner keys get no `email` and `phone` fields."),
    ),
    retrieve=extend_schema(summary=gettext_lazy("One official")),
)
class OfficialViewSet(ReadOnlyResource):
    queryset = Official.objects.all()
    filterset_class = OfficialFilter

    def get_serializer_class(self):
        if sees_contact_details(self.request) or getattr(self, "swagger_fake_view", False):
            return api.OfficialSerializer
        return api.PartnerOfficialSerializer

    @extend_schema(
        summary=gettext_lazy("An official's transcript"),
        description=gettext_lazy(
            "Each course the official was enrolled in, with the ministry at enrolment, the sessions "
            "held and attended and the completion as the reports count it, and each session with "
            "the official's attendance. The same transcript as the portal's page, PDF and CSV. "
            "Partner keys get the official without `email` and `phone`."
        ),
        responses={
            200: api.TranscriptSerializer,
            404: OpenApiResponse(description=gettext_lazy("No such official.")),
        },
    )
    @action(detail=True, methods=["get"], url_path="transcript")
    def transcript(self, request, pk=None):
        transcript = official_transcript(self.get_object().pk)
        if transcript is None:  # deleted between the two reads (a merge)
            raise Http404
        context = {**self.get_serializer_context(), "official_serializer": self.get_serializer_class()}
        return Response(api.TranscriptSerializer(transcript, context=context).data)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("List enrolments"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=gettext_lazy("One enrolment")),
    create=extend_schema(
        summary=gettext_lazy("Enrol an official in a course (MIH staff)"),
        request=api.EnrollmentCreateSerializer,
        responses={201: api.EnrollmentSerializer},
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Withdraw or reinstate an enrolment (MIH staff)"),
        request=api.EnrollmentUpdateSerializer,
        responses={200: api.EnrollmentSerializer},
    ),
)
class EnrollmentViewSet(
    IdempotentWritesMixin,
    StrictQueryParamsMixin,
    ETagRetrieveMixin,
    mixins.CreateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    queryset = Enrollment.objects.all()
    serializer_class = api.EnrollmentSerializer
    filterset_class = EnrollmentFilter
    api_read_roles = READERS
    api_write_roles = WRITERS
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        data = api.EnrollmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = services.enrollment_create(changed_by=_portal_user(request), **data.validated_data)
        return Response(self.get_serializer(enrollment).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        enrollment = self.get_object()
        data = api.EnrollmentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["status"] == Enrollment.Status.WITHDRAWN:
            enrollment = services.enrollment_withdraw(
                enrollment=enrollment,
                reason=data.validated_data.get("withdrawal_reason", ""),
                changed_by=_portal_user(request),
            )
        elif enrollment.status != Enrollment.Status.ENROLLED:
            enrollment = services.enrollment_reinstate(
                enrollment=enrollment, changed_by=_portal_user(request)
            )
        return Response(self.get_serializer(enrollment).data)


def attendance_queryset():
    """Attendance with its official and course as plain columns: one query, whatever the page size."""
    return Attendance.objects.annotate(
        official_ref=F("enrollment__official_id"), course_ref=F("session__course_id")
    )


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("List attendance"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=gettext_lazy("One attendance row")),
)
class AttendanceViewSet(RowListMixin, ReadOnlyResource):
    """The longest list a partner pages through: listed from plain rows (see RowListMixin)."""

    queryset = attendance_queryset()
    serializer_class = api.AttendanceSerializer
    filterset_class = AttendanceFilter
    list_queryset = attendance_queryset().values_list(*api.ATTENDANCE_COLUMNS)

    def represent_rows(self, rows):
        return api.attendance_rows(rows, self.request)


def _register(session, *, changed: int) -> dict:
    """Every enrolled official with their row at this session (if any): one query."""
    rows = (
        Enrollment.objects.filter(course_id=session.course_id, status=Enrollment.Status.ENROLLED)
        .annotate(mark=FilteredRelation("attendances", condition=Q(attendances__session=session)))
        .order_by("official_id")
        .values_list("official_id", "pk", "mark__id", "mark__status", "mark__note", "mark__version")
    )
    register = [
        {
            "official": official,
            "enrollment": enrollment,
            "attendance": attendance,
            "status": mark_status,
            "note": note or "",
            "version": version or 0,
        }
        for official, enrollment, attendance, mark_status, note, version in rows
    ]
    # `register` repeats the list under its former name for one version (deprecated).
    return {"session": session.pk, "changed": changed, "attendance": register, "register": register}


class SessionRegisterView(IdempotentWritesMixin, APIView):
    """A session's register: every enrolled official and their attendance."""

    api_read_roles = READERS
    api_write_roles = WRITERS

    def get_object(self, pk) -> Session:
        return get_object_or_404(Session, pk=pk)

    @extend_schema(
        summary=gettext_lazy("A session's register"),
        description=gettext_lazy(
            "Every enrolled official with their attendance at this session, under `attendance` "
            "(`register` repeats it under its former name, deprecated). PUT the same body back with "
            "changed statuses to record them."
        ),
        responses=api.RegisterSerializer,
    )
    def get(self, request, pk):
        return Response(_register(self.get_object(pk), changed=0))

    @extend_schema(
        summary=gettext_lazy("Record a session's register (MIH staff)"),
        description=gettext_lazy(
            "Sets the status of each official listed under `attendance` at this session in one "
            "transaction: the body GET gives, with statuses changed, is a valid PUT (read-only fields "
            "are ignored; a null status leaves that official's row as it is). Idempotent: sending "
            "the same list again changes nothing (`changed` is 0, versions stay). Officials not "
            "listed keep their rows. If any entry is invalid, nothing is written. `register` is "
            "still accepted in place of `attendance` for this version (deprecated)."
        ),
        request=api.RegisterSerializer,
        responses={
            200: api.RegisterSerializer,
            409: OpenApiResponse(description=gettext_lazy("A row changed since `version`; nothing written.")),
        },
    )
    def put(self, request, pk):
        session = self.get_object(pk)
        data = api.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Positions as sent (errors name them); a null status records nothing.
        sent = [(index, entry) for index, entry in enumerate(data.entries) if entry["status"] is not None]
        rows = [
            services.AttendanceRow(
                official=entry["official"],
                status=entry["status"],
                note=entry.get("note"),
                expected_version=entry.get("version"),
            )
            for _index, entry in sent
        ]
        try:
            outcomes = services.attendance_record_many(
                session=session, rows=rows, recorded_by=_portal_user(request)
            )
        except services.AttendanceRowsInvalid as invalid:
            # Keyed by the entry's position, as DRF reports the entries' own field errors.
            errors = {sent[index][0]: error.message_dict for index, error in invalid.row_errors.items()}
            return Response({data.list_name: errors}, status=status.HTTP_400_BAD_REQUEST)
        except services.StaleAttendanceError as stale:
            current = stale.current
            return Response(
                {
                    "detail": _("The attendance of official %(official)s changed since you read it.")
                    % {"official": current.enrollment.official_id},
                    "current": {"status": current.status, "note": current.note, "version": current.version},
                },
                status=status.HTTP_409_CONFLICT,
            )
        changed = sum(outcome.changed for outcome in outcomes)
        return Response(_register(session, changed=changed))


class CertificateViewSet(ReadOnlyResource):
    """Certificates as webhook payloads (`certificate.issued`): the URL conf names it among the
    webhook resources only, so it represents certificates without being an endpoint of its own."""

    queryset = Certificate.objects.select_related("enrollment")
    serializer_class = api.CertificateSerializer
