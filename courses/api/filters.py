"""Filters shared by every API list, and those of programmes, projects, courses and sessions."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from courses.models import Course, DeletedRecord, Programme, Project, Session
from pcp_portal.api import MAX_ID, NO_NULL_CHARACTERS, TIMESTAMP_PATTERN, parse_timestamp_bounds
from pcp_portal.changefeed import SYNCED_RESOURCES


class TimestampField(IsoDateTimeField):
    """An ISO 8601 timestamp within the bounds the database takes, handed on in UTC."""

    def to_python(self, value):
        # RFC 3339 allows a lower-case `t` and `z`; Python's parser wants them upper-case.
        value = super().to_python(value.upper() if isinstance(value, str) else value)
        return None if value is None else parse_timestamp_bounds(value)


@extend_schema_field({"type": "string", "format": "date-time", "minLength": 1, "pattern": TIMESTAMP_PATTERN})
class TimestampFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp (with an offset; without one, Phnom Penh time)."""

    field_class = TimestampField


@extend_schema_field({"type": "string", "minLength": 1, "pattern": NO_NULL_CHARACTERS})
class TextFilter(django_filters.CharFilter):
    """Free text: not empty (refused, see StrictQueryParamsMixin) and without NUL characters."""


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    """An object id; one that matches nothing gives an empty list."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class SyncFilterSet(django_filters.FilterSet):
    updated_since = TimestampFilter(
        field_name="updated_at",
        lookup_expr="gt",
        label=_("Only rows changed after this ISO 8601 timestamp (for incremental sync)."),
    )


class ProgrammeFilter(SyncFilterSet):
    class Meta:
        model = Programme
        fields = ["updated_since"]


class ProjectFilter(SyncFilterSet):
    programme = IdFilter(field_name="programme_id", label=_("Programme id."))

    class Meta:
        model = Project
        fields = ["updated_since", "programme"]


class CourseFilter(SyncFilterSet):
    project = IdFilter(field_name="project_id", label=_("Project id."))

    class Meta:
        model = Course
        fields = ["updated_since", "project"]


class SessionFilter(SyncFilterSet):
    course = IdFilter(field_name="course_id", label=_("Course id."))
    date_from = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__gte", label=_("Sessions starting on or after this date.")
    )
    date_to = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__lte", label=_("Sessions starting on or before this date.")
    )
    status = django_filters.ChoiceFilter(choices=Session.Status.choices, label=_("Session status."))

    class Meta:
        model = Session
        fields = ["updated_since", "course", "date_from", "date_to", "status"]


class DeletedRecordFilter(django_filters.FilterSet):
    updated_since = TimestampFilter(
        field_name="deleted_at", lookup_expr="gt", label=_("Only deletions after this ISO 8601 timestamp.")
    )
    resource = django_filters.ChoiceFilter(
        choices=[(name, name) for name in SYNCED_RESOURCES],
        label=_("Only deletions of this resource."),
    )

    class Meta:
        model = DeletedRecord
        fields = ["updated_since", "resource"]
