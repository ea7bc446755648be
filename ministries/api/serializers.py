"""Ministries and bodies with their dated name history."""

from __future__ import annotations

from rest_framework import serializers

from ministries.models import Ministry, MinistryName
from pcp_portal.api import LinkField
from pcp_portal.api.bases import PortalSerializer


class MinistryNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = MinistryName
        fields = ["name_en", "name_km", "acronym", "valid_from", "valid_to", "legal_basis", "source_url"]


class MinistrySerializer(PortalSerializer):
    url = LinkField("ministry-detail", source="pk")
    parent_url = LinkField("ministry-detail", source="parent_id", allow_null=True)
    former_names = MinistryNameSerializer(many=True, read_only=True)

    class Meta(PortalSerializer.Meta):
        model = Ministry
        fields = [
            "id",
            "url",
            "code",
            "name_en",
            "name_km",
            "acronym",
            "kind",
            "parent",
            "parent_url",
            "established_on",
            "dissolved_on",
            "former_names",
            "notes",
            "sources",
            "created_at",
            "updated_at",
        ]
