"""Filters of the officials, enrolments and attendance lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from participants.models import Attendance, AttendanceStatus, Enrollment, Official, Sex
from pcp_portal.api.bases import IdFilter, SyncFilterSet, TextFilter


class OfficialFilter(SyncFilterSet):
    ministry = IdFilter(field_name="ministry_id", label=_("Ministry id."))
    sex = django_filters.ChoiceFilter(choices=Sex.choices, label=_("Sex."))
    name = TextFilter(
        method="filter_name", label=_("Every word found in the name, in Latin or Khmer script.")
    )

    class Meta:
        model = Official
        fields = ["updated_since", "ministry", "sex", "name"]

    def filter_name(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(family_name__icontains=word) | Q(given_name__icontains=word) | Q(name_km__icontains=word)
            )
        return queryset


class EnrollmentFilter(SyncFilterSet):
    course = IdFilter(field_name="course_id", label=_("Course id."))
    ministry = IdFilter(field_name="ministry_id", label=_("Ministry id (the ministry at enrolment)."))
    official = IdFilter(field_name="official_id", label=_("Official id."))
    status = django_filters.ChoiceFilter(choices=Enrollment.Status.choices, label=_("Enrolment status."))

    class Meta:
        model = Enrollment
        fields = ["updated_since", "course", "ministry", "official", "status"]


class AttendanceFilter(SyncFilterSet):
    course = IdFilter(field_name="session__course_id", label=_("Course id."))
    session = IdFilter(field_name="session_id", label=_("Session id."))
    ministry = IdFilter(field_name="enrollment__ministry_id", label=_("Ministry id (at enrolment)."))
    official = IdFilter(field_name="enrollment__official_id", label=_("Official id."))
    status = django_filters.ChoiceFilter(choices=AttendanceStatus.choices, label=_("Attendance status."))
    sex = django_filters.ChoiceFilter(
        field_name="enrollment__official__sex", choices=Sex.choices, label=_("The official's sex.")
    )
    date_from = django_filters.DateFilter(
        field_name="session__starts_at",
        lookup_expr="date__gte",
        label=_("Sessions starting on or after this date."),
    )
    date_to = django_filters.DateFilter(
        field_name="session__starts_at",
        lookup_expr="date__lte",
        label=_("Sessions starting on or before this date."),
    )

    class Meta:
        model = Attendance
        fields = [
            "updated_since",
            "course",
            "session",
            "ministry",
            "official",
            "status",
            "sex",
            "date_from",
            "date_to",
        ]
