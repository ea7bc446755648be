"""The OpenAPI schema's additions: the error responses every operation can give.

Kept apart from the package's __init__ because drf-spectacular reads the REST_FRAMEWORK settings,
which name pcp_portal.api, when it is imported.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from pcp_portal import idempotency
from pcp_portal.api import NO_NULL_CHARACTERS, IdempotentWritesMixin

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for a general error; otherwise each invalid field or query parameter "
    "names its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {},
}


def _text(description):
    # RequestLimitsMiddleware answers before the API does, in plain text.
    return {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": description}


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class PortalAutoSchema(AutoSchema):
    """Documents the error responses every operation can give, beside its success response, and
    the Idempotency-Key header of every write."""

    def _resolve_path_parameters(self, variables):
        # Object ids in paths are matched by the pattern [0-9]{1,18}: state them as the integers
        # they are, so a generated client takes an int.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("pattern") == "^[0-9]{1,18}$":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
        return parameters

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in WRITE_METHODS and isinstance(self.view, IdempotentWritesMixin):
            parameters.append(
                OpenApiParameter(
                    name=idempotency.HEADER,
                    location=OpenApiParameter.HEADER,
                    required=False,
                    type={
                        "type": "string",
                        "minLength": 1,
                        "maxLength": idempotency.MAX_KEY_LENGTH,
                        # Printable ASCII, not only spaces (pcp_portal.idempotency.requested_key).
                        "pattern": "^[ -~]*[!-~][ -~]*$",
                    },
                    description=(
                        "A new UUID per write; send the same key again only to retry that same "
                        "request (the reply was lost): it then happens once and the first answer "
                        "is given again, with `Idempotent-Replayed: true`. The same key with "
                        "another body gets 422; while the first is still running, 409. Keys are "
                        "kept 24 hours."
                    ),
                )
            )
        return parameters

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
            "414": _text("The query string is too long."),
            "429": error("Too many requests for this key; retry after `Retry-After` seconds."),
        }
        if "{" in self.path:
            errors["404"] = error("No such object.")
        if self.method in WRITE_METHODS:
            errors["409"] = error(
                "The object changed since it was read, or a request with this Idempotency-Key is "
                "still running; nothing was written."
            )
            errors["413"] = _text("The body is too large.")
            errors["422"] = error("This Idempotency-Key was used for a different request.")
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


class PrimaryKeyFieldExtension(OpenApiSerializerFieldExtension):
    """Related ids: what PrimaryKeyRelatedField takes, a whole number from 1 to 2**63 - 1."""

    target_class = "pcp_portal.api.PrimaryKeyRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("type") == "integer" and not self.target.read_only:
            schema.update({"minimum": 1, "maximum": self.target.MAX_ID})
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


def state_text_rules(result, generator, request, public):
    """Postprocessing hook: every text a request body may carry says it takes no NUL character
    (DRF's CharField refuses one), so a client validating against the schema is refused nothing
    the schema allows."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        for prop in component.get("properties", {}).values():
            if prop.get("type") == "string" and not ({"format", "enum", "pattern"} & set(prop)):
                prop["pattern"] = NO_NULL_CHARACTERS
    return result
