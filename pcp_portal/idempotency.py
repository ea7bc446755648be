"""`Idempotency-Key` on writes: a retry of a write whose reply was lost gets the first answer again.

A client that sends a write (POST, PUT, PATCH, DELETE) may send `Idempotency-Key: <a UUID>`; if
the reply never arrives it sends the same request with the same key, and the write happens once:

- the first request claims the key (a committed row, so a racing twin sees it), runs, and stores
  its answer (status, body, the headers that matter) in the same transaction as its write;
- a repeat with the same key and the same method, path and body gets the stored answer, marked
  with `Idempotent-Replayed: true`;
- the same key with another body, method or path is refused (422): a key names one request;
- the same key while the first request still runs gets 409 with `Retry-After`;
- keys belong to their caller (a portal account or an API key) and expire after 24 hours
  (`prune_expired_idempotency_keys` deletes them; an expired key is also reclaimed on use).

Because the answer is stored in the write's transaction, a claim without an answer means nothing
was written: after IN_FLIGHT_TIMEOUT (longer than any request may run) such a claim, left by a
process that died, is taken over by the next request with that key. Answers of 500 and above
are not stored (the write rolled back or failed); the key is released so the retry runs again.

Used by the API (`pcp_portal.api.IdempotentWritesMixin`, on every view that writes) and by the
register's row view (`idempotent_writes`), which the page's script calls with a key per change.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from pcp_portal.models import IdempotencyKey

HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_LIFETIME = datetime.timedelta(hours=24)
# gunicorn stops a request after 60 s (docker-compose.yml); twice that and the claimant is gone.
IN_FLIGHT_TIMEOUT = datetime.timedelta(seconds=120)
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length
# Headers a replay gives back: how to read the body, and what the first answer pointed at.
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "Content-Language")


class IdempotencyError(Exception):
    """The key cannot be used for this request: `status` (400, 409 or 422) and a message."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        self.status = status
        self.message = message
        self.retry_after = retry_after
        super().__init__(message)


def caller_of(user) -> str | None:
    """Whose keys these are: an API key (see pcp_portal.api.APIKeyUser) or a portal account."""
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.prefix}"
    if user is not None and user.is_authenticated and user.pk is not None:
        return f"user:{user.pk}"
    return None


def requested_key(request: HttpRequest) -> str | None:
    """The request's key, None if it sent none; IdempotencyError (400) for a malformed one."""
    raw = request.headers.get(HEADER)
    if raw is None or request.method not in WRITE_METHODS:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise IdempotencyError(
            400,
            _("The Idempotency-Key header must be 1 to %(max)d printable ASCII characters (a UUID is best).")
            % {"max": MAX_KEY_LENGTH},
        )
    return key


def _body_digest(request: HttpRequest) -> bytes:
    """The body as a retry would send it again: form fields in order of name (a browser picks a
    new multipart boundary per send), JSON with its keys sorted, anything else as bytes."""
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields = sorted(
            (name, values) for name, values in request.POST.lists() if name != "csrfmiddlewaretoken"
        )
        return json.dumps(fields, ensure_ascii=False).encode()
    body = request.body
    if content_type == "application/json":
        try:
            return json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False).encode()
        except (ValueError, RecursionError):
            pass
    return body


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), _body_digest(request)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(request: HttpRequest, *, caller: str, key: str) -> IdempotencyKey | HttpResponse:
    """Claim `key` for this request: the claim to complete, or the stored answer to replay.

    Raises IdempotencyError when the key is in use by another request (409) or names another
    one (422). Runs in its own committed transaction: call it outside any atomic block.
    """
    now = timezone.now()
    request_print = fingerprint(request)
    fields = {"method": request.method, "path": request.get_full_path(), "fingerprint": request_print}
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(caller=caller, key=key, created_at=now, **fields)
    except IntegrityError:
        pass
    stored = IdempotencyKey.objects.filter(caller=caller, key=key).first()
    if stored is None:  # pruned between our insert and our read: claim it afresh
        return claim(request, caller=caller, key=key)
    expired = stored.created_at <= now - KEY_LIFETIME
    abandoned = stored.status_code is None and stored.created_at <= now - IN_FLIGHT_TIMEOUT
    if expired or abandoned:
        # Conditional on the row as read, so of two retries taking it over only one wins.
        taken = IdempotencyKey.objects.filter(pk=stored.pk, created_at=stored.created_at).update(
            created_at=now,
            status_code=None,
            completed_at=None,
            response_body=b"",
            response_headers={},
            **fields,
        )
        if taken:
            stored.refresh_from_db()
            return stored
        raise IdempotencyError(409, _in_flight_message(), retry_after=1)
    if stored.fingerprint != request_print:
        raise IdempotencyError(
            422,
            _(
                "This Idempotency-Key was already used for a different request (%(method)s %(path)s "
                "with another body). Use a new key for each new request; reuse a key only to retry "
                "exactly the same request."
            )
            % {"method": stored.method, "path": stored.path},
        )
    if stored.status_code is None:
        raise IdempotencyError(409, _in_flight_message(), retry_after=1)
    return replay(stored)


def _in_flight_message() -> str:
    return _("A request with this Idempotency-Key is still being processed; retry in a moment.")


def replay(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(stored.response_body), status=stored.status_code)
    for name, value in stored.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def complete(stored: IdempotencyKey, response: HttpResponse) -> None:
    """Store the answer; call it inside the write's transaction (see the module docstring)."""
    stored.status_code = response.status_code
    stored.response_body = b"" if response.streaming else response.content
    stored.response_headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    stored.completed_at = timezone.now()
    stored.save(update_fields=["status_code", "response_body", "response_headers", "completed_at"])


def release(stored: IdempotencyKey) -> None:
    """Forget a claim whose request failed (5xx): the retry runs the write again."""
    IdempotencyKey.objects.filter(pk=stored.pk, status_code__isnull=True).delete()


def run(stored: IdempotencyKey, call):
    """Run `call()` (the write, returning a rendered response) and store its answer with it."""
    try:
        with transaction.atomic():
            response = call()
            if response.status_code < 500:
                complete(stored, response)
    except BaseException:
        release(stored)
        raise
    if response.status_code >= 500:
        release(stored)
    return response


def prune_expired_idempotency_keys(*, now: datetime.datetime | None = None) -> int:
    """Delete keys older than 24 hours; returns how many. Meant for a periodic task."""
    cutoff = (now or timezone.now()) - KEY_LIFETIME
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def idempotent_writes(view):
    """For a plain Django view answering JSON with `{"ok": false, "message": ...}` on errors:
    honour `Idempotency-Key` on its writes. Put it under the decorators that check who may call."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            key = requested_key(request)
            caller = caller_of(getattr(request, "user", None))
            if key is None or caller is None:
                return view(request, *args, **kwargs)
            outcome = claim(request, caller=caller, key=key)
        except IdempotencyError as error:
            response = JsonResponse(
                {"ok": False, "idempotency": True, "message": error.message}, status=error.status
            )
            if error.retry_after is not None:
                response["Retry-After"] = str(error.retry_after)
            return response
        if isinstance(outcome, HttpResponse):
            return outcome
        return run(outcome, lambda: view(request, *args, **kwargs))

    return wrapper
