"""GET /api/v1/reports/attendance-summary/: the report figures as JSON, from participants.reports.figures.

Partners may read it: it holds figures, never a name or a contact detail.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from courses.models import Course, Session
from ministries.models import Ministry
from participants.reports import figures as fig
from participants.reports.forms import ReportFilterForm
from participants.series import SeriesFigures, all_series_figures
from pcp_portal.api import MAX_ID, READERS

GROUP_BY = ("course", "ministry", "sex", "session")


# --- The response, described for the schema (every field of fig.*.as_dict() and of _groups) -------


def _share(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, min_value=0, max_value=1, help_text=help_text)


def _count(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, help_text=help_text)


class SexSplitSerializer(serializers.Serializer):
    women = _count("Women.")
    men = _count("Men.")
    other = _count("Other or not stated.")
    total = _count("Everyone: women + men + other.")
    women_share = _share("Women over total, rounded to 4 decimals; null when total is 0.")


class FiguresSerializer(serializers.Serializer):
    officials = SexSplitSerializer(help_text="Distinct officials with an active enrolment.")
    enrolments = SexSplitSerializer(help_text="Active enrolments (official-course pairs).")
    trained = SexSplitSerializer(help_text="Distinct officials who attended at least one held session.")
    completed = SexSplitSerializer(help_text="Enrolments that reached the course's completion threshold.")
    attended_sessions = _count("Sessions attended (present or late), summed over enrolments.")
    expected_sessions = _count("Held sessions times active enrolments of each course.")
    excused_sessions = _count("Excused absences (not attendance).")
    absent_sessions = _count("Absences marked absent.")
    attendance_rate = _share("attended_sessions / expected_sessions; null when nothing was expected.")
    completion_rate = _share("completed.total / enrolments.total; null when nobody is enrolled.")


class SessionFiguresSerializer(serializers.Serializer):
    enrolled = SexSplitSerializer(help_text="Officials actively enrolled in the session's course.")
    attended = SexSplitSerializer(help_text="Officials marked present or late.")
    excused = SexSplitSerializer(help_text="Officials marked excused.")
    absent = SexSplitSerializer(help_text="Officials marked absent.")
    unmarked = _count("Enrolled officials with no mark for this session.")
    attendance_rate = _share("attended.total / enrolled.total; null when nobody is enrolled.")


class CourseGroupSerializer(FiguresSerializer):
    course = serializers.IntegerField(help_text="The course's id.")
    number = serializers.IntegerField(help_text="The course's number in its project.")
    title = serializers.CharField(help_text="The course's title.")


class MinistryGroupSerializer(FiguresSerializer):
    ministry = serializers.IntegerField(help_text="The ministry's id (renamed ministries are one group).")
    name_en = serializers.CharField(help_text="The ministry's current English name.")
    acronym = serializers.CharField(allow_blank=True, help_text="The ministry's current acronym.")


class SexGroupSerializer(FiguresSerializer):
    sex = serializers.ChoiceField(choices=fig.SEXES, help_text="The officials' sex.")


class SessionGroupSerializer(SessionFiguresSerializer):
    session = serializers.IntegerField(help_text="The held session's id.")
    course = serializers.IntegerField(help_text="The session's course id.")
    title = serializers.CharField(help_text="The session's title.")
    starts_at = serializers.DateTimeField(help_text="When the session started.")


class SummaryFiltersSerializer(serializers.Serializer):
    course = serializers.IntegerField(allow_null=True, help_text="The course filter, or null.")
    ministry = serializers.IntegerField(allow_null=True, help_text="The ministry filter, or null.")
    date_from = serializers.DateField(allow_null=True, help_text="First day (sessions' local dates).")
    date_to = serializers.DateField(allow_null=True, help_text="Last day, included.")


class DefinitionsSerializer(serializers.Serializer):
    held_session = serializers.CharField(help_text="What counts as a held session.")
    attendance_rate = serializers.CharField(help_text="How the attendance rate is computed.")
    excused = serializers.CharField(help_text="How excused absences are counted.")
    completion = serializers.CharField(help_text="What completing a course means.")
    officials = serializers.CharField(help_text="Who counts as an official.")
    trained = serializers.CharField(help_text="Who counts as trained.")
    enrolments = serializers.CharField(help_text="What an enrolment is, and what counts enrolments.")
    series_completion = serializers.CharField(help_text="What completing a series means.")


class SeriesGroupSerializer(serializers.Serializer):
    officials = SexSplitSerializer(help_text="Officials (people) with an active enrolment in the series.")
    completed = SexSplitSerializer(help_text="Officials (people) who completed the series.")
    completion_rate = _share("completed.total / officials.total; null when nobody is in the series.")


class SeriesMinistrySerializer(SeriesGroupSerializer):
    ministry = serializers.IntegerField(help_text="The ministry's id.")
    name_en = serializers.CharField(
        help_text="The ministry's English name on the first enrolment in the series."
    )
    acronym = serializers.CharField(allow_blank=True, help_text="Its acronym on that enrolment.")


class SeriesRuleSerializer(serializers.Serializer):
    min_courses = serializers.IntegerField(
        allow_null=True, help_text="Courses to complete; null: every course of the series held."
    )
    courses = _count("Courses in the series.")
    courses_held = _count("Courses with a held session.")
    courses_required = _count("Completed courses needed today (never more than the courses held).")


class SeriesSummarySerializer(serializers.Serializer):
    project = serializers.IntegerField(help_text="The project whose courses form the series.")
    title = serializers.CharField(help_text="The project's title.")
    rule = SeriesRuleSerializer(help_text="The series' completion rule.")
    total = SeriesGroupSerializer(help_text="The whole series (report filters do not narrow it).")
    by_ministry = SeriesMinistrySerializer(many=True, help_text="Per ministry named at first enrolment.")


class AttendanceSummarySerializer(serializers.Serializer):
    filters = SummaryFiltersSerializer(help_text="The filters applied.")
    group_by = serializers.ChoiceField(choices=GROUP_BY, help_text="The grouping of `groups`.")
    definitions = DefinitionsSerializer(help_text="The definitions of the figures, in words.")
    series = SeriesSummarySerializer(many=True, help_text="Series completion, per series (project).")
    total = FiguresSerializer(help_text="The figures of the whole selection.")
    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="With no filter the figures come from a snapshot refreshed within seconds of a "
        "change: the time it was computed. Null when computed for this request.",
    )
    groups = PolymorphicProxySerializer(
        component_name="AttendanceSummaryGroup",
        serializers=[
            CourseGroupSerializer,
            MinistryGroupSerializer,
            SexGroupSerializer,
            SessionGroupSerializer,
        ],
        resource_type_field_name=None,
        many=True,
        help_text="One entry per group, in order: per course and ministry the figures of `total`; "
        "per session the session figures.",
    )


class AttendanceSummaryView(APIView):
    """The same figures as the report pages and exports, grouped by course, ministry, sex or session."""

    api_read_roles = READERS

    @extend_schema(
        summary=_("Attendance summary"),
        parameters=[
            OpenApiParameter("group_by", str, enum=GROUP_BY, description=_("Default: course.")),
            OpenApiParameter("course", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
            OpenApiParameter("ministry", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="YYYY-MM-DD"),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="YYYY-MM-DD"),
        ],
        responses={200: AttendanceSummarySerializer},
    )
    def get(self, request, *args, **kwargs):
        params = request.query_params
        errors = {}
        unknown = sorted(set(params) - {"group_by", "course", "ministry", "date_from", "date_to"})
        if unknown:
            errors["unknown_parameters"] = [
                _("Unknown parameter(s): %(names)s.") % {"names": ", ".join(unknown)}
            ]
        for name, values in params.lists():
            if "" in values and name not in unknown:
                # An empty filter would silently widen the figures to everything.
                errors[name] = [_("Give a value, or leave the parameter out.")]
        group_by = params.get("group_by", "course")
        if group_by not in GROUP_BY and "group_by" not in errors:
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
                "series": [_series(figures) for figures in all_series_figures()],
                **_total_and_groups(filters, group_by),
            }
        )


def _total_and_groups(filters, group_by: str) -> dict:
    """The total and the groups: one query, plus one for the session figures or the names."""
    if group_by == "session":
        report = fig.report_figures(filters, ("programme",))
        groups = _session_groups(filters)
    else:
        report = fig.report_figures(filters, ("programme", group_by))
        groups = _groups(report.groups[group_by], group_by)
    total = report.groups["programme"].get((), fig.Figures())
    # When the figures come from the background snapshot, the time it was computed; null when live.
    return {"total": total.as_dict(), "groups": groups, "as_of": report.as_of}


def _session_groups(filters) -> list[dict]:
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


def _groups(grouped: dict[tuple, fig.Figures], group_by: str) -> list[dict]:
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


def _series(figures: SeriesFigures) -> dict:
    rule = figures.rule
    return {
        "project": figures.project.pk,
        "title": str(figures.project),
        "rule": {
            "min_courses": rule.min_courses,
            "courses": rule.courses,
            "courses_held": rule.courses_held,
            "courses_required": rule.required,
        },
        "total": figures.total.as_dict(),
        "by_ministry": [
            {"ministry": pk, "name_en": name_en, "acronym": acronym, **group.as_dict()}
            for (pk, name_en, acronym), group in figures.by_ministry.items()
        ],
    }
