"""Filters of the ministries resource: current or former name or acronym, kind, and the sync filters."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ministries.models import Ministry
from pcp_portal.api.bases import SyncFilterSet, TextFilter


class MinistryFilter(SyncFilterSet):
    name = TextFilter(
        method="filter_name", label=_("Part of a current or former name or acronym, in English or Khmer.")
    )
    kind = django_filters.ChoiceFilter(choices=Ministry.Kind.choices, label=_("Kind of body."))

    class Meta:
        model = Ministry
        fields = ["updated_since", "name", "kind"]

    def filter_name(self, queryset, name, value):
        words = value.split()
        for word in words:
            queryset = queryset.filter(
                Q(name_en__icontains=word)
                | Q(name_km__icontains=word)
                | Q(acronym__iexact=word)
                | Q(former_names__name_en__icontains=word)
                | Q(former_names__name_km__icontains=word)
                | Q(former_names__acronym__iexact=word)
            )
        return queryset.distinct() if words else queryset
