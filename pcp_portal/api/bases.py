"""The bases every app's API resources build on: the serializer, the sync filters, the read-only resource.

Kept apart from the package's __init__ because REST_FRAMEWORK names pcp_portal.api (for the
authentication, permissions and pagination) and DRF imports those while defining APIView; a
viewset base imported there would need APIView before it exists.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from pcp_portal.api import (
    MAX_ID,
    NO_NULL_CHARACTERS,
    READERS,
    TIMESTAMP_PATTERN,
    WRITERS,
    ETagRetrieveMixin,
    FastListSerializer,
    PrimaryKeyRelatedField,
    StrictQueryParamsMixin,
    parse_timestamp_bounds,
)

# --- serializers --------------------------------------------------------------------------------


class PortalSerializer(serializers.ModelSerializer):
    """Every resource: a stable `id`, its `url`, `updated_at`, and links to related objects."""

    # Related ids are whole numbers in the database's range, checked before any query.
    serializer_related_field = PrimaryKeyRelatedField

    class Meta:
        list_serializer_class = FastListSerializer


# --- filters ------------------------------------------------------------------------------------


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


# --- views --------------------------------------------------------------------------------------

ID_PATTERN = r"[0-9]{1,18}"

SYNC_NOTE = _(
    "Ordered by id; follow `next` to the end. To keep a copy in step, follow /api/v1/changes/ (a "
    "commit-ordered feed with sync tokens). `updated_since` is deprecated and will be removed in v2: "
    "a row saved before that time but committed after it is missed, so pass the time your previous "
    "sync started minus a safety overlap of at least the longest transaction (5 minutes), and apply "
    "the `deleted` feed with the same timestamp."
)


class ReadOnlyResource(StrictQueryParamsMixin, ETagRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    """A resource every role may read: cursor-paged list with filters, detail with an ETag."""

    api_read_roles = READERS
    # Staff pass the permission and learn the method is not offered (405); others get 403.
    api_write_roles = WRITERS
    lookup_value_regex = ID_PATTERN
