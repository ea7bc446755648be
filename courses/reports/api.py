"""GET /api/v1/reports/attendance-summary/: the report figures as JSON, from courses.reports.figures.

Partners may read it: it holds figures, never a name or a contact detail.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from courses.models import Course, Session
from courses.reports import figures as fig
from courses.reports.forms import ReportFilterForm
from ministries.models import Ministry
from pcp_portal.api import READERS

GROUP_BY = ("course", "ministry", "sex", "session")


class AttendanceSummaryView(APIView):
    """The same figures as the report pages and exports, grouped by course, ministry, sex or session."""

    api_read_roles = READERS

    @extend_schema(
        summary=_("Attendance summary"),
        parameters=[
            OpenApiParameter("group_by", str, enum=GROUP_BY, description=_("Default: course.")),
            OpenApiParameter("course", int),
            OpenApiParameter("ministry", int),
            OpenApiParameter("date_from", str, description="YYYY-MM-DD"),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, *args, **kwargs):
        params = request.query_params
        errors = {}
        unknown = sorted(set(params) - {"group_by", "course", "ministry", "date_from", "date_to"})
        if unknown:
            errors["unknown_parameters"] = [
                _("Unknown parameter(s): %(names)s.") % {"names": ", ".join(unknown)}
            ]
        group_by = params.get("group_by", "course")
        if group_by not in GROUP_BY:
            errors["group_by"] = [_("Use one of: %(choices)s.") % {"choices": ", ".join(GROUP_BY)}]
        form = ReportFilterForm(
            {key: params.get(key, "") for key in ("course", "ministry", "date_from", "date_to")}
        )
        if not form.is_valid():
            for name, messages in form.errors.items():
                errors[name if name != "__all__" else "date_to"] = [str(message) for message in messages]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        filters = form.filters()
        return Response(
            {
                "filters": {
                    "course": filters.course_id,
                    "ministry": filters.ministry_id,
                    "date_from": filters.date_from,
                    "date_to": filters.date_to,
                },
                "group_by": group_by,
                "definitions": fig.definitions(),
                "total": fig.programme_figures(filters).as_dict(),
                "groups": _groups(filters, group_by),
            }
        )


def _groups(filters, group_by: str) -> list[dict]:
    if group_by == "session":
        per_session = fig.session_figures(filters)
        sessions = Session.objects.filter(pk__in=list(per_session)).order_by("starts_at", "id")
        return [
            {
                "session": session.pk,
                "course": session.course_id,
                "title": session.title,
                "starts_at": session.starts_at,
                **per_session[session.pk].as_dict(),
            }
            for session in sessions
        ]
    grouped = fig.grouped_figures(filters, group_by)
    if group_by == "sex":
        return [{"sex": sex, **grouped[(sex,)].as_dict()} for sex in fig.SEXES if (sex,) in grouped]
    if group_by == "course":
        courses = Course.objects.filter(pk__in=[key[0] for key in grouped]).order_by("project_id", "number")
        return [
            {"course": c.pk, "number": c.number, "title": c.title, **grouped[(c.pk,)].as_dict()}
            for c in courses
        ]
    ministries = Ministry.objects.filter(pk__in=[key[0] for key in grouped]).order_by("name_en")
    return [
        {"ministry": m.pk, "name_en": m.name_en, "acronym": m.acronym, **grouped[(m.pk,)].as_dict()}
        for m in ministries
    ]
