"""API views of ministries and bodies, each with its name history."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view

from ministries.api.filters import MinistryFilter
from ministries.api.serializers import MinistrySerializer
from ministries.models import Ministry
from pcp_portal.api.bases import SYNC_NOTE, ReadOnlyResource


@extend_schema_view(
    list=extend_schema(summary=_("List ministries and bodies"), description=SYNC_NOTE),
    retrieve=extend_schema(summary=_("One ministry or body, with its former names")),
)
class MinistryViewSet(ReadOnlyResource):
    queryset = Ministry.objects.prefetch_related("former_names")
    serializer_class = MinistrySerializer
    filterset_class = MinistryFilter
