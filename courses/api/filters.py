"""Filters of programmes, projects, courses, sessions and the deleted feed (the shared ones are in
pcp_portal.api.bases)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from courses.models import Course, Programme, Project, Session
from pcp_portal.api.bases import IdFilter, SyncFilterSet, TimestampFilter
from pcp_portal.changefeed import SYNCED_RESOURCES
from pcp_portal.models import DeletedRecord


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
