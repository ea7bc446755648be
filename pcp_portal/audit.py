"""The audit trail: who changed which official, enrolment, course, session or attendance, when,
from which address, with before and after; and every log-in and failed log-in.

Changes are django-simple-history's rows (each carries the user and, through pcp_portal/db.py,
the client's address); log-ins are django-axes' AccessLog and AccessFailureLog rows. The
superuser reads them at /audit/ and exports them as CSV. This module also holds the log-in
signal receivers (structured log lines, session stamps) and ends every server session of an
account that is deactivated.
"""

from __future__ import annotations

import csv
import datetime
import heapq
import itertools
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.sessions.models import Session
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.db.models.signals import post_save, pre_save
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pcp_portal.middleware import AUTH_AT, SEEN_AT, client_ip
from pcp_portal.spreadsheets import safe_row

logger = logging.getLogger("pcp_portal.audit")

# The audited models: (key, app label, model name). Their history tables are read below.
AUDITED = (
    ("official", "participants", "Official"),
    ("enrollment", "participants", "Enrollment"),
    ("attendance", "participants", "Attendance"),
    ("course", "courses", "Course"),
    ("session", "courses", "Session"),
)
ACTIONS = {"+": gettext_lazy("created"), "~": gettext_lazy("changed"), "-": gettext_lazy("deleted")}
EXPORT_LIMIT = 100_000


# --- log-ins, log-outs, deactivation -------------------------------------------------------------


def _on_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session[AUTH_AT] = now
        request.session[SEEN_AT] = now
    logger.info(
        "login",
        extra={
            "event": "login",
            "username": user.get_username(),
            "ip": client_ip(request) if request else None,
        },
    )


def _on_logged_out(sender, request, user, **kwargs):
    logger.info(
        "logout",
        extra={
            "event": "logout",
            "username": user.get_username() if user else None,
            "ip": client_ip(request) if request else None,
        },
    )


def _on_login_failed(sender, credentials, request=None, **kwargs):
    # The username is the user's own text: the JSON formatter escapes any CR/LF in it.
    logger.warning(
        "login failed",
        extra={
            "event": "login_failed",
            "username": str(credentials.get("username", ""))[:150],
            "ip": client_ip(request) if request else None,
        },
    )


def end_user_sessions(user) -> int:
    """Delete every live server-side session of `user`; returns how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def _remember_was_active(sender, instance, **kwargs):
    if instance.pk:
        instance._pcp_was_active = (
            sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
        )


def _end_sessions_when_deactivated(sender, instance, created, **kwargs):
    if not created and getattr(instance, "_pcp_was_active", False) and not instance.is_active:
        ended = end_user_sessions(instance)
        logger.info(
            "account deactivated",
            extra={"event": "deactivated", "username": instance.get_username(), "sessions_ended": ended},
        )


def connect_signals() -> None:
    user_model = get_user_model()
    user_logged_in.connect(_on_logged_in, dispatch_uid="pcp_audit_logged_in")
    user_logged_out.connect(_on_logged_out, dispatch_uid="pcp_audit_logged_out")
    user_login_failed.connect(_on_login_failed, dispatch_uid="pcp_audit_login_failed")
    pre_save.connect(_remember_was_active, sender=user_model, dispatch_uid="pcp_audit_was_active")
    post_save.connect(_end_sessions_when_deactivated, sender=user_model, dispatch_uid="pcp_audit_deactivated")


# --- selectors ------------------------------------------------------------------------------------


@dataclass
class Change:
    when: datetime.datetime
    kind: str
    object_id: int
    object_label: str
    action: str
    user: str
    ip_address: str | None
    changes: list[tuple[str, str, str]]  # (field, before, after)


# What each audited model's label (its __str__) reads beyond its own columns: `as_changes` fetches
# these in one query per relation for a whole page or export chunk and sets them on the rebuilt
# instances, so a label costs no query per row. A model whose __str__ reads a new relation must
# be listed here (tests/security/test_audit_queries.py counts the queries).
LABEL_RELATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "enrollment": {"official": (), "course": ()},
    "attendance": {"enrollment": ("official",), "session": ()},
}
EXPORT_CHUNK = 500


def _history_model(app_label: str, model_name: str):
    from django.apps import apps

    return apps.get_model(app_label, model_name).history.model


def _history_queryset(app_label: str, model_name: str, *, username=None, since=None, until=None):
    """One audited model's history rows, newest first, each with the id of the row before it.

    `previous_history_id` is what simple-history's `prev_record` would fetch one query at a time:
    the same object's latest earlier row (ties in time broken by id), read here in the same query.
    """
    model = _history_model(app_label, model_name)
    queryset = model.objects.select_related("history_user")
    if username:
        queryset = queryset.filter(history_user__username=username)
    if since:
        queryset = queryset.filter(history_date__gte=since)
    if until:
        queryset = queryset.filter(history_date__lt=until)
    previous = (
        model.objects.filter(id=OuterRef("id"))
        .filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return queryset.annotate(previous_history_id=Subquery(previous)).order_by("-history_date", "-history_id")


def audit_changes(
    *,
    kind: str | None = None,
    username: str | None = None,
    since=None,
    until=None,
    limit=200,
    chunk_size: int | None = None,
) -> Iterator[tuple[str, Any]]:
    """The newest history rows of the audited models (all, or one kind), newest first, as
    (kind, record) pairs: one ordered query per model, merged lazily. With `chunk_size` each query
    is read in chunks (a server-side cursor on PostgreSQL), so an export never holds it all."""
    streams = []
    for key, app_label, model_name in AUDITED:
        if kind and key != kind:
            continue
        queryset = _history_queryset(app_label, model_name, username=username, since=since, until=until)
        records = queryset[:limit].iterator(chunk_size=chunk_size) if chunk_size else iter(queryset[:limit])
        streams.append(zip(itertools.repeat(key), records, strict=False))
    merged = heapq.merge(*streams, key=lambda pair: (pair[1].history_date, pair[1].history_id), reverse=True)
    return itertools.islice(merged, limit)


def _attach_label_relations(instances: dict[str, list]) -> None:
    for key, relations in LABEL_RELATIONS.items():
        rows = instances.get(key)
        if not rows:
            continue
        meta = rows[0]._meta
        for name, deeper in relations.items():
            field = meta.get_field(name)
            ids = {getattr(row, field.attname) for row in rows} - {None}
            related = field.related_model.objects.select_related(*deeper).in_bulk(ids)
            for row in rows:
                target = related.get(getattr(row, field.attname))
                if target is not None:
                    setattr(row, name, target)


def as_changes(pairs) -> list[Change]:
    """Turn (kind, record) pairs into Changes with a constant number of queries: the previous
    history rows (for before → after) in one query per model, the labels' relations in one per
    relation."""
    pairs = list(pairs)
    by_model: dict[type, list[int]] = defaultdict(list)
    for _key, record in pairs:
        if record.history_type == "~" and record.previous_history_id:
            by_model[type(record)].append(record.previous_history_id)
    previous = {}
    for model, ids in by_model.items():
        previous.update({(model, row.history_id): row for row in model.objects.filter(history_id__in=ids)})
    instances: dict[str, list] = defaultdict(list)
    built = {}
    for key, record in pairs:
        if record.history_type != "-":
            built[id(record)] = instance = _instance(record)
            instances[key].append(instance)
    _attach_label_relations(instances)
    changes = []
    for key, record in pairs:
        instance = built.get(id(record))
        before = previous.get((type(record), record.previous_history_id))
        changes.append(
            Change(
                when=record.history_date,
                kind=key,
                object_id=record.id,
                object_label=_label(instance) if instance is not None else f"#{record.id}",
                action=str(ACTIONS.get(record.history_type, record.history_type)),
                user=record.history_user.get_username() if record.history_user else "",
                ip_address=record.ip_address,
                changes=_field_changes(record, before),
            )
        )
    return changes


def _instance(record):
    """The record as an instance of its model, as simple-history's `instance` builds it but without
    the query per row that fills the fields a history leaves out: those are derived keys (an
    official's search columns) that no label or change shows."""
    model = record.instance_type
    return model(**{field.attname: getattr(record, field.attname) for field in record.tracked_fields})


def _label(instance) -> str:
    try:
        return str(instance)
    except ObjectDoesNotExist:  # a related row deleted since: the id still identifies the record
        return f"#{instance.pk}"


def _field_changes(record, previous) -> list[tuple[str, str, str]]:
    # Columns nobody edits (editable=False: search keys, a calendar revision) are derived from the
    # others; they are kept in the history but are not changes a person made.
    fields = [
        f
        for f in record.instance_type._meta.concrete_fields
        if f.name not in {"updated_at", "created_at"} and f.editable
    ]
    if record.history_type == "~":
        if previous is not None:
            delta = record.diff_against(previous, included_fields=[f.name for f in fields])
            return [(c.field, _text(c.old), _text(c.new)) for c in delta.changes]
        return []
    values = [(f.name, _text(getattr(record, f.attname, None))) for f in fields]
    if record.history_type == "+":
        return [(name, "", value) for name, value in values]
    return [(name, value, "") for name, value in values]


def _text(value) -> str:
    return "" if value is None else str(value)


def audit_logins(*, username: str | None = None, since=None, until=None, limit=200):
    """Successful and failed log-ins, newest first: (time, outcome, username, address, agent)."""
    from axes.models import AccessFailureLog, AccessLog

    entries = []
    for model, outcome in ((AccessLog, _("logged in")), (AccessFailureLog, _("failed log-in"))):
        queryset = model.objects.all()
        if username:
            queryset = queryset.filter(username=username)
        if since:
            queryset = queryset.filter(attempt_time__gte=since)
        if until:
            queryset = queryset.filter(attempt_time__lt=until)
        for row in queryset.order_by("-attempt_time")[:limit]:
            label = outcome
            if model is AccessFailureLog and row.locked_out:
                label = _("failed log-in, locked out")
            entries.append((row.attempt_time, label, row.username or "", row.ip_address, row.user_agent))
    entries.sort(key=lambda entry: entry[0], reverse=True)
    return entries[:limit]


# --- views ----------------------------------------------------------------------------------------


def _superuser_only(view):
    from functools import wraps

    from django.contrib.auth.views import redirect_to_login

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not (request.user.is_active and request.user.is_superuser):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _filters(request) -> tuple[dict, list[str]]:
    errors = []
    kind = request.GET.get("kind") or None
    if kind and kind not in {key for key, _a, _m in AUDITED}:
        errors.append(_("Unknown kind of record: choose one from the list."))
        kind = None
    username = (request.GET.get("user") or "").strip()[:150] or None
    dates = {}
    for name in ("since", "until"):
        raw = (request.GET.get(name) or "").strip()
        if not raw:
            continue
        try:
            day = datetime.date.fromisoformat(raw)
        except ValueError:
            errors.append(_("Dates are written YYYY-MM-DD."))
            continue
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        dates[name] = moment + datetime.timedelta(days=1) if name == "until" else moment
    return {"kind": kind, "username": username, **dates}, errors


@_superuser_only
def audit_log(request):
    filters, errors = _filters(request)
    show = "logins" if request.GET.get("show") == "logins" else "changes"
    if show == "logins":
        entries = audit_logins(**{k: v for k, v in filters.items() if k != "kind"}, limit=1000)
    else:
        entries = list(audit_changes(**filters, limit=1000))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    if show == "changes":
        # Only the page's rows are turned into changes, in bulk: the queries do not grow with them.
        page.object_list = as_changes(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/audit_log.html",
        {
            "show": show,
            "page": page,
            "errors": errors,
            "kinds": [(key, _history_model(a, m).instance_type._meta.verbose_name) for key, a, m in AUDITED],
            "filters": {k: request.GET.get(k, "") for k in ("kind", "user", "since", "until")},
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value):
        return value


@_superuser_only
def audit_export(request):
    """CSV of the filtered trail: one line per changed field; log-ins as their own lines."""
    filters, errors = _filters(request)
    if errors:
        return HttpResponseBadRequest(" ".join(errors), content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(
            ["time", "record", "id", "label", "action", "user", "ip_address", "field", "before", "after"]
        )
        records = audit_changes(**filters, limit=EXPORT_LIMIT, chunk_size=EXPORT_CHUNK)
        # Chunk by chunk: a constant number of queries per chunk, and memory for one chunk only.
        while chunk := list(itertools.islice(records, EXPORT_CHUNK)):
            for change in as_changes(chunk):
                for field, before, after in change.changes or [("", "", "")]:
                    yield writer.writerow(
                        safe_row(
                            [
                                change.when.isoformat(),
                                change.kind,
                                change.object_id,
                                change.object_label,
                                change.action,
                                change.user,
                                change.ip_address or "",
                                field,
                                before,
                                after,
                            ]
                        )
                    )
        if not filters.get("kind"):
            login_filters = {k: v for k, v in filters.items() if k != "kind"}
            for when, outcome, username, address, _agent in audit_logins(**login_filters, limit=EXPORT_LIMIT):
                yield writer.writerow(
                    safe_row(
                        [when.isoformat(), "login", "", "", str(outcome), username, address or "", "", "", ""]
                    )
                )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="pcp-audit-{stamp}.csv"'
    return response
