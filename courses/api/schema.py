"""The OpenAPI schema's additions: the error responses every operation can give.

Kept apart from pcp_portal.api because drf-spectacular reads the REST_FRAMEWORK settings,
which name pcp_portal.api, when it is imported.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for a general error; otherwise each invalid field or query parameter "
    "names its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {},
}


class PortalAutoSchema(AutoSchema):
    """Documents the error responses every operation can give, beside its success response."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses

        def error(description):
            return {"content": {"application/json": {"schema": ERROR_SCHEMA}}, "description": description}

        errors = {
            "400": error("Invalid input: a bad filter value, page cursor, query parameter or body."),
            "401": error("No key, or a wrong, expired or revoked key."),
            "403": error("The key's role may not do this (partner keys are read-only)."),
            "429": error("Too many requests for this key; retry after `Retry-After` seconds."),
        }
        if "{" in self.path:
            errors["404"] = error("No such object.")
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            errors["409"] = error("The object changed since it was read; nothing was written.")
        for code, body in errors.items():
            responses.setdefault(code, body)
        if "{" in self.path and self.method == "GET" and "200" in responses:
            responses.setdefault("304", {"description": "Not modified (If-None-Match matched the ETag)."})
        return responses


class LinkFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "pcp_portal.api.LinkField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "format": "uri", "readOnly": True}
        if self.target.allow_null:
            schema["nullable"] = True
        return schema


class BearerKeyExtension(OpenApiAuthenticationExtension):
    target_class = "pcp_portal.api.BearerAPIKeyAuthentication"
    name = "bearerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A key from `manage.py create_api_key`, as `Authorization: Bearer <key>`.",
        }
