"""API views of programmes, projects, courses, sessions and the deleted feed. Thin: reads use the
querysets below, writes call courses.services."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from courses import services
from courses.api import filters
from courses.api.serializers import (
    CourseSerializer,
    DeletedRecordSerializer,
    ProgrammeSerializer,
    ProjectSerializer,
    SessionSerializer,
)
from courses.models import Course, Programme, Project, Session
from pcp_portal.api import READERS, WRITERS, ETagRetrieveMixin, IdempotentWritesMixin, StrictQueryParamsMixin
from pcp_portal.api.bases import ID_PATTERN, SYNC_NOTE, ReadOnlyResource
from pcp_portal.models import DeletedRecord


@extend_schema_view(
    list=extend_schema(summary=_("List programmes"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=_("One programme")),
)
class ProgrammeViewSet(ReadOnlyResource):
    queryset = Programme.objects.all()
    serializer_class = ProgrammeSerializer
    filterset_class = filters.ProgrammeFilter


@extend_schema_view(
    list=extend_schema(summary=_("List projects"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=_("One project")),
)
class ProjectViewSet(ReadOnlyResource):
    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    filterset_class = filters.ProjectFilter


@extend_schema_view(
    list=extend_schema(summary=_("List courses"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=_("One course")),
)
class CourseViewSet(ReadOnlyResource):
    queryset = Course.objects.all()
    serializer_class = CourseSerializer
    filterset_class = filters.CourseFilter


@extend_schema_view(
    list=extend_schema(summary=_("List sessions"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=_("One session")),
    create=extend_schema(summary=_("Create a session (MIH staff)")),
    update=extend_schema(summary=_("Replace a session's details (MIH staff)")),
    partial_update=extend_schema(
        summary=_("Change a session (MIH staff)"),
        description=_("Set `status` to `cancelled` (with `cancellation_reason`) to cancel it."),
    ),
)
class SessionViewSet(
    IdempotentWritesMixin,
    StrictQueryParamsMixin,
    ETagRetrieveMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    queryset = Session.objects.all()
    serializer_class = SessionSerializer
    filterset_class = filters.SessionFilter
    api_read_roles = READERS
    api_write_roles = WRITERS
    lookup_value_regex = ID_PATTERN

    def _changed_by(self):
        user = self.request.user
        return user if getattr(user, "pk", None) else None

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields.pop("status", None)
        fields.pop("cancellation_reason", None)
        session = services.session_create(changed_by=self._changed_by(), **fields)
        return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        session = self.get_object()
        serializer = self.get_serializer(session, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields.pop("course", None)
        new_status = fields.pop("status", session.status)
        reason = fields.pop("cancellation_reason", None)
        if fields:
            session = services.session_update(session=session, changed_by=self._changed_by(), **fields)
        if new_status == Session.Status.CANCELLED and session.status != Session.Status.CANCELLED:
            session = services.session_cancel(
                session=session, reason=reason or "", changed_by=self._changed_by()
            )
        elif reason is not None and session.status == Session.Status.CANCELLED:
            session = services.session_update(
                session=session, changed_by=self._changed_by(), cancellation_reason=reason
            )
        return Response(self.get_serializer(session).data)


@extend_schema_view(
    list=extend_schema(
        summary=_("Deleted records"),
        description=_(
            "Tombstones: which object of which resource was deleted when. With `updated_since`, what "
            "was removed since a partner's last sync."
        ),
    ),
)
class DeletedRecordViewSet(StrictQueryParamsMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = DeletedRecord.objects.all()
    serializer_class = DeletedRecordSerializer
    filterset_class = filters.DeletedRecordFilter
    api_read_roles = READERS
    api_write_roles = WRITERS
