"""The REST API's shared infrastructure: who is calling, what each role may do, paging, errors.

Every API view (the apps' `api/` packages and any other endpoint under /api/v1/) gets these
through REST_FRAMEWORK in settings: a key sent as `Authorization: Bearer <key>` (or a portal
session for the browsable API), `RolePermission` (deny by default: a view names the roles that
may read and write it), keyset cursor pagination, a throttle per key, and one error format.
No domain lives here. The bases the apps' resources build on (serializer, filters, read-only
viewset) are in `bases.py`.
"""

from __future__ import annotations

import datetime
import functools

from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, parsers, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from pcp_portal import idempotency, roles
from pcp_portal.models import APIAccessKey
from pcp_portal.throttling import FailOpenRateThrottle

# --- authentication -----------------------------------------------------------------------------


class APIKeyUser:
    """The partner system behind a key, standing in for request.user (it is no portal account)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, api_key) -> None:
        self.api_key = api_key
        self.role = api_key.role
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return f"{self.api_key.name} (API key {self.api_key.prefix})"

    @property
    def groups(self):
        # A key holds no portal role (its API role is `role`): pages and templates see none.
        from django.contrib.auth.models import Group

        return Group.objects.none()

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False


class BearerAPIKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <prefix>.<secret>`; only the key's SHA-512 hash is in the database.

    Checked on every request, so a key revoked in the admin or past its expiry stops at once.
    """

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the key as: Authorization: Bearer <key>."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        prefix, dot, _secret = key.partition(".")
        api_key = APIAccessKey.objects.filter(prefix=prefix).first() if dot and prefix else None
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        if api_key.revoked:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        return APIKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'


# --- roles and permissions ----------------------------------------------------------------------

READERS = (roles.PARTNER, roles.UNIDO_OFFICER, roles.MIH_STAFF)
STAFF_READERS = (roles.UNIDO_OFFICER, roles.MIH_STAFF)
WRITERS = (roles.MIH_STAFF,)


def api_role(request) -> str | None:
    """The caller's role: the key's role, or the strongest role of the logged-in user."""
    user = getattr(request, "user", None)
    if isinstance(user, APIKeyUser):
        return user.role
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return roles.MIH_STAFF
    held = roles.user_roles(user)
    for role in (roles.MIH_STAFF, roles.UNIDO_OFFICER, roles.PARTNER):
        if role in held:
            return role
    return None


def sees_contact_details(request) -> bool:
    return api_role(request) in STAFF_READERS


class RolePermission(BasePermission):
    """Deny by default. A view lists `api_read_roles` (GET, HEAD, OPTIONS) and `api_write_roles`.

    A view that lists nothing is readable by UNIDO officers and MIH staff and writable by nobody.
    """

    def has_permission(self, request, view) -> bool:
        role = api_role(request)
        if role is None:
            if request.user and request.user.is_authenticated:
                self.message = _("Your account has no role that may use the API.")
            return False
        if request.method in SAFE_METHODS:
            allowed = getattr(view, "api_read_roles", STAFF_READERS)
            self.message = _("Your role may not read this resource.")
        else:
            allowed = getattr(view, "api_write_roles", ())
            self.message = (
                _("Partner keys are read-only.")
                if role == roles.PARTNER
                else _("Your role may not change this resource.")
            )
        return role in allowed


# --- throttling ---------------------------------------------------------------------------------


class PerKeyRateThrottle(FailOpenRateThrottle):
    """One budget per API key (or per portal user, or per address when anonymous), counted in the
    shared cache; while that cache is unreachable requests pass, logged (pcp_portal/throttling.py)."""

    scope = "api"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, APIKeyUser):
            ident = f"key:{user.api_key.prefix}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- pagination ---------------------------------------------------------------------------------


def page_size_param(request, *, name: str = "page_size", default: int, maximum: int) -> int:
    """The page size a request asks for: `default` when absent, 400 unless a whole number 1…maximum."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= maximum:
        raise exceptions.ValidationError(
            {name: [_("Give a whole number from 1 to %(max)d.") % {"max": maximum}]}
        )
    return size


class KeysetCursorPagination(CursorPagination):
    """DRF's cursor pagination on the primary key: `WHERE id > last ORDER BY id LIMIT n+1`.

    Ids never change and new rows get higher ids, so a partner paging through while staff log
    attendance neither misses nor repeats a row, and a page deep in the list costs what the
    first does (an index range scan, no OFFSET, no COUNT). What differs from DRF's:

    * cursors are signed, and an altered or made-up one is refused with 400 naming `cursor`
      (DRF answers 404 "Invalid cursor"); the ids in them are whole numbers;
    * `page_size` outside 1…max_page_size is refused with 400 (DRF silently uses the default),
      through the parser the change feed shares;
    * a page that comes back empty (its rows deleted since the link was given) links back
      without skipping the row its cursor named (DRF's links would step over it);
    * the schema states `next` and `previous` as always present, and the parameters' bounds.
    """

    ordering = "pk"  # unique: a cursor is a position alone, never an offset
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"
    cursor_query_description = gettext_lazy("Opaque page cursor: follow the `next` and `previous` links.")
    invalid_cursor_message = gettext_lazy(
        "This page cursor is invalid or was altered; follow the links as given."
    )
    _signer = signing.Signer(salt="pcp-portal.api.cursor")

    @property
    def page_size_query_description(self) -> str:
        return _("Rows per page, 1 to %(max)d (default %(default)d).") % {
            "max": self.max_page_size,
            "default": type(self).page_size,
        }

    def get_page_size(self, request) -> int:
        return page_size_param(
            request, name=self.page_size_query_param, default=type(self).page_size, maximum=self.max_page_size
        )

    def paginate_queryset(self, queryset, request, view=None):
        page = super().paginate_queryset(queryset, request, view)
        self.to_first = False
        if not page and self.cursor is not None:
            if self.cursor.reverse:
                self.to_first = True  # nothing before the cursor: `next` is the first page
            else:
                self.previous_position = self.cursor.position + 1  # back to the cursor's row too
        return page

    def get_next_link(self):
        if self.to_first:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return super().get_next_link()

    def cursor_token(self, position: int, *, reverse: bool = False) -> str:
        """The value of `?cursor=` for the rows after `position` (before it, when `reverse`)."""
        return self._signer.sign_object({"b" if reverse else "a": position})

    def encode_cursor(self, cursor: Cursor) -> str:
        if cursor.offset or cursor.position is None:  # only a non-unique ordering needs these
            raise ImproperlyConfigured("KeysetCursorPagination needs a unique ordering.")
        token = self.cursor_token(cursor.position, reverse=cursor.reverse)
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request) -> Cursor | None:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            data = self._signer.unsign_object(raw)
            (direction, position), *rest = data.items()
            if rest or direction not in ("a", "b") or type(position) is not int:
                raise ValueError
        except (signing.BadSignature, ValueError, TypeError, AttributeError):
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from None
        return Cursor(offset=0, reverse=direction == "b", position=position)

    def _get_position_from_instance(self, instance, ordering) -> int:
        # A model instance, a values() dict, or a values_list() tuple with the id first (RowListMixin);
        # an int, where DRF's gives text, so that the signed cursor holds a number.
        if isinstance(instance, tuple):
            return instance[0]
        return instance["id"] if isinstance(instance, dict) else instance.pk

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        cursor, size = super().get_schema_operation_parameters(view)
        cursor["schema"]["minLength"] = 1
        size["schema"].update(minimum=1, maximum=self.max_page_size)
        return [cursor, size]

    def get_allowed_query_params(self) -> set[str]:
        return {self.cursor_query_param, self.page_size_query_param}


# --- query parameters ---------------------------------------------------------------------------


class StrictQueryParamsMixin:
    """Refuses query parameters the view does not know (a typo like `updated_sinse` would
    otherwise silently return everything), and known ones given empty (`updated_since=`)."""

    extra_query_params: tuple[str, ...] = ()

    def allowed_query_params(self) -> set[str]:
        allowed = {api_settings.URL_FORMAT_OVERRIDE, *self.extra_query_params}
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None and getattr(self, "action", None) in ("list", None):
            allowed |= set(filterset_class.base_filters)
        paginator = getattr(self, "paginator", None)
        if paginator is not None and getattr(self, "action", None) in ("list", None):
            allowed |= paginator.get_allowed_query_params()
        return allowed

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        empty = sorted(name for name, values in request.query_params.lists() if "" in values)
        if empty and not unknown:
            # django-filter would skip an empty filter and silently return everything.
            raise exceptions.ValidationError(
                {name: [_("Give a value, or leave the parameter out.")] for name in empty}
            )
        if unknown:
            raise exceptions.ValidationError(
                {
                    name: [
                        _("Unknown query parameter. Known here: %(known)s.")
                        % {"known": ", ".join(sorted(self.allowed_query_params() - {None}))}
                    ]
                    for name in unknown
                }
            )


# --- idempotent writes --------------------------------------------------------------------------


class _Answer(Exception):
    """Carries a finished answer (a replay, or a refusal of the key) out of `initial()`."""

    def __init__(self, response) -> None:
        self.response = response
        super().__init__()


class IdempotentWritesMixin:
    """Honours `Idempotency-Key` on the view's writes (see pcp_portal.idempotency).

    After authentication, permissions and throttling (a key belongs to its caller), the key is
    claimed; the handler then runs in one transaction with the storing of its answer, and a
    repeat gets that answer again. Every API view that writes uses this mixin (a test holds it).
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        try:
            key = idempotency.requested_key(request._request)
            caller = idempotency.caller_of(request.user)
            if key is None or caller is None:
                return
            outcome = idempotency.claim(request._request, caller=caller, key=key)
        except idempotency.IdempotencyError as error:
            detail = {"detail": error.message}
            if error.status == 400:
                detail = {idempotency.HEADER: [error.message]}
            headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
            raise _Answer(Response(detail, status=error.status, headers=headers)) from None
        if not isinstance(outcome, idempotency.IdempotencyKey):
            raise _Answer(outcome)
        method = request.method.lower()
        handler = getattr(self, method, None)
        if handler is None:  # a method the view does not offer: nothing to store
            idempotency.release(outcome)
            return

        def recorded(request, *args, **kwargs):
            def call():
                try:
                    response = handler(request, *args, **kwargs)
                except Exception as exc:
                    response = self.handle_exception(exc)
                response = self.finalize_response(request, response, *args, **kwargs)
                return response.render() if hasattr(response, "render") else response

            return idempotency.run(outcome, call)

        setattr(self, method, recorded)

    def handle_exception(self, exc):
        if isinstance(exc, _Answer):
            return exc.response
        return super().handle_exception(exc)


# --- ETag on detail views -----------------------------------------------------------------------


def weak_etag(instance, request) -> str:
    """Cheap: the row's id and updated_at, and the role (partners see fewer fields)."""
    stamp = int(instance.updated_at.timestamp() * 1_000_000)
    return f'W/"{instance.pk}-{stamp}-{api_role(request) or "-"}"'


class ETagRetrieveMixin:
    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        etag = weak_etag(instance, request)
        if_none_match = request.headers.get("If-None-Match", "")
        if etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*":
            return Response(status=304, headers={"ETag": etag})
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag
        return response


# --- serializer helpers -------------------------------------------------------------------------


class LinkField(serializers.Field):
    """The URL of a related object from its id, without a query and without reverse() per row."""

    def __init__(self, view_name: str, **kwargs) -> None:
        self.view_name = view_name
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        templates = self.context.setdefault("_link_templates", {})
        template = templates.get(self.view_name)
        if template is None:
            from django.urls import reverse

            request = self.context.get("request")
            path = reverse(f"v1:{self.view_name}", kwargs={"pk": 999999999})
            base = request.build_absolute_uri(path) if request is not None else path
            template = templates[self.view_name] = base.replace("999999999", "{}")
        return template.format(value)


def detail_link(request, view_name: str) -> tuple[str, str]:
    """The absolute URL of a v1 detail view as (prefix, suffix) around the id: `prefix + id + suffix`
    gives what LinkField and DRF's reverse() give, without reverse() per row."""
    from django.conf import settings
    from django.urls import get_script_prefix, get_urlconf

    path = _detail_path(view_name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    url = request.build_absolute_uri(path) if request is not None else path
    prefix, _marker, suffix = url.rpartition("999999999")
    return prefix, suffix


@functools.lru_cache(maxsize=256)
def _detail_path(view_name: str, script_prefix: str, urlconf) -> str:
    from django.urls import reverse

    return reverse(f"v1:{view_name}", kwargs={"pk": 999999999}, urlconf=urlconf)


def datetime_formatter():
    """A function giving exactly what DRF's DateTimeField gives (ISO 8601 in the current time zone,
    `Z` for UTC), for lists represented without per-field machinery."""
    from django.conf import settings
    from django.utils.timezone import get_current_timezone, make_aware

    zone = get_current_timezone() if settings.USE_TZ else None

    def iso(value):
        if value is None:
            return None
        if zone is not None:
            value = value.astimezone(zone) if value.tzinfo is not None else make_aware(value, zone)
        text = value.isoformat()
        return text if text[-6:] != "+00:00" else text[:-6] + "Z"

    return iso


class RowListMixin:
    """A list view that pages the plain rows of `list_queryset` (a `values_list()` with the id
    first, built once with the class) and represents them with `represent_rows(rows)` instead of
    a serializer per object.

    Same queryset, filters, permissions and cursor pagination as ListModelMixin; only the
    representation is hand-written, and a test holds it equal to the serializer's. The
    detail view and the schema still use `serializer_class`.
    """

    list_queryset = None

    def represent_rows(self, rows) -> list[dict]:
        raise NotImplementedError

    def filter_queryset(self, queryset):
        # With no filter parameter in the query, django-filter applies nothing (every filter skips
        # an empty value): skip building its form. Any filter parameter goes through it as usual.
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None and not any(
            name in self.request.query_params for name in filterset_class.base_filters
        ):
            backends = [backend for backend in self.filter_backends if not _is_django_filter(backend)]
            for backend in backends:
                queryset = backend().filter_queryset(self.request, queryset, self)
            return queryset
        return super().filter_queryset(queryset)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.list_queryset.all())
        rows = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.represent_rows(rows))


def _is_django_filter(backend) -> bool:
    from django_filters.rest_framework import DjangoFilterBackend

    return issubclass(backend, DjangoFilterBackend)


class FastListSerializer(serializers.ListSerializer):
    """Lists of plain fields without DRF's per-field machinery: strings, numbers and booleans are
    copied as they are; only fields that transform (dates, links, nested) call to_representation."""

    _PLAIN = (
        serializers.CharField,
        serializers.IntegerField,
        serializers.BooleanField,
        serializers.ChoiceField,
        serializers.EmailField,
    )

    def to_representation(self, data):
        iterable = data.all() if hasattr(data, "all") else data
        plan = []
        for field in self.child._readable_fields:
            if isinstance(field, serializers.PrimaryKeyRelatedField):
                # The foreign key's column, as DRF's own pk-only optimisation reads it: no query per row.
                *path, last = field.source_attrs
                plan.append((field.field_name, [*path, f"{last}_id"], None))
                continue
            plain = isinstance(field, self._PLAIN)
            plan.append((field.field_name, field.source_attrs, None if plain else field.to_representation))
        rows = []
        for instance in iterable:
            row = {}
            for name, attrs, convert in plan:
                value = instance
                for attr in attrs:
                    value = getattr(value, attr) if value is not None else None
                if convert is not None and value is not None:
                    value = convert(value)
                row[name] = value
            rows.append(row)
        return rows


# --- errors and schema --------------------------------------------------------------------------


@csrf_exempt  # an API address, like DRF's views: answered 404 whatever the cookies
def not_found(request, *args, **kwargs):
    """An address under /api/v1/ that names nothing: DRF's 404 body, in JSON like every answer."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)


def api_exception_handler(exc, context):
    """DRF's handler, plus: a service's Django ValidationError becomes a 400 with field messages."""
    # Imported here: rest_framework.views reads the settings that name this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    return exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deeply for Python's parser (thousands of `[`)
    refused as bad input instead of escaping as a RecursionError (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                _("JSON parse error - the body nests arrays or objects too deeply.")
            ) from None


# What every text field the API takes states in the schema: DRF and Django forms refuse NUL.
NO_NULL_CHARACTERS = r"^[^\x00]*$"

# The largest id a bigint column holds: ids above it cannot exist and are refused before a query.
MAX_ID = 2**63 - 1

# UTC offsets in use anywhere (Baker Island, UTC-12, to the Line Islands, UTC+14).
MIN_UTC_OFFSET = datetime.timedelta(hours=-12)
MAX_UTC_OFFSET = datetime.timedelta(hours=14)
MIN_TIMESTAMP_YEAR, MAX_TIMESTAMP_YEAR = 1900, 9000
# What the schema states for a timestamp parameter: RFC 3339 with the year and offset the API takes.
TIMESTAMP_PATTERN = (
    r"^(19[0-9]{2}|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"([Zz]|\+(0[0-9]|1[0-3]):[0-5][0-9]|\+14:00|-(0[0-9]|1[01]):[0-5][0-9]|-12:00)$"
)


def parse_timestamp_bounds(value: datetime.datetime) -> datetime.datetime:
    """A timestamp every supported database can hold, in UTC.

    Refuses a year outside 1900 to 9000 and a UTC offset outside -12:00 to +14:00 (PostgreSQL
    cannot even take some offsets Python accepts, such as +16:00); converts the rest to UTC so
    the database is handed a plain UTC time.
    """
    if not MIN_TIMESTAMP_YEAR <= value.year <= MAX_TIMESTAMP_YEAR:
        raise DjangoValidationError(_("Give a timestamp between the years 1900 and 9000."))
    offset = value.utcoffset()
    if offset is not None:
        if not MIN_UTC_OFFSET <= offset <= MAX_UTC_OFFSET:
            raise DjangoValidationError(_("Give a UTC offset between -12:00 and +14:00."))
        value = value.astimezone(datetime.UTC)
    return value


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """DRF's, refusing anything but a whole number from 1 to 2**63 - 1 before it reaches a query:
    `1e999` (infinity once parsed), `true`, `1.5` or a 30-digit number get the field's message
    instead of an OverflowError or a database error. Every serializer's related fields are this
    (PortalSerializer.serializer_related_field, and by name in the input serializers)."""

    MAX_ID = MAX_ID

    def to_internal_value(self, data):
        if isinstance(data, str) and data.isascii() and data.isdigit() and len(data) <= 19:
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= self.MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)
