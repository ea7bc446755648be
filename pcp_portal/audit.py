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
import functools
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
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Max, OuterRef, Q, Subquery, Value, When, Window
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Lag
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


# What each audited model's label (its __str__) reads beyond its own columns: the history queries
# join these (select_related) and `_label` sets them on the rebuilt instance, so a label costs no
# query. A model whose __str__ reads a new relation must be listed here
# (tests/security/test_audit_queries.py counts the queries).
LABEL_RELATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "enrollment": {"official": (), "course": ()},
    "attendance": {"enrollment": ("official",), "session": ()},
}
EXPORT_CHUNK = 500
# Changes on a page of the audit trail.
PAGE_SIZE = 50
# The log-ins page pages through at most this many (the export has no such cap below EXPORT_LIMIT).
PAGE_LIMIT = 1000


def _history_model(app_label: str, model_name: str):
    from django.apps import apps

    return apps.get_model(app_label, model_name).history.model


def _label_paths(key: str) -> list[str]:
    return [
        path
        for name, deeper in LABEL_RELATIONS.get(key, {}).items()
        for path in (name, *(f"{name}__{d}" for d in deeper))
    ]


@functools.cache
def _compared_fields(model) -> list:
    """The columns of a history model that a change is made of. Columns nobody edits
    (editable=False: search keys, a calendar revision) are derived from the others; they are kept
    in the history but are not changes a person made."""
    kept = {f.attname for f in model._meta.concrete_fields}
    return [
        f
        for f in model.instance_type._meta.concrete_fields
        if f.name not in {"updated_at", "created_at"} and f.editable and f.attname in kept
    ]


def _user_ids(username: str | None) -> list[int] | None:
    """The ids of the user a filter names (None: no filter), read once for every history table.

    A history table filtered on its own indexed column, with the value known when the query is
    planned, answers from that index at once for a user with few changes; through a join on the
    name the planner cannot tell, and walked the whole trail by time looking for them."""
    if not username:
        return None
    return list(get_user_model().objects.filter(username=username).values_list("pk", flat=True))


def _row_filter(*, user_ids=None, since=None, until=None) -> Q:
    row = Q()
    if user_ids is not None:
        row &= Q(history_user_id__in=user_ids)
    if since:
        row &= Q(history_date__gte=since)
    if until:
        row &= Q(history_date__lt=until)
    return row


def _history_queryset(
    key: str,
    app_label: str,
    model_name: str,
    *,
    user_ids=None,
    since=None,
    until=None,
    cursor=None,
    older=True,
):
    """One audited model's history rows beyond `cursor` (older or newer than it; all when None),
    nearest the cursor first, with their labels' relations and the id of the row before each.

    The order is the (history_date, history_id) index's, so that a page reads its rows from that
    index's end (or from the cursor) and stops: no sort and no count of the whole table.
    `previous_history_id` is what simple-history's `prev_record` would fetch one query at a time:
    the same object's latest earlier row (ties in time broken by id), read here in the same query.
    """
    model = _history_model(app_label, model_name)
    queryset = model.objects.select_related("history_user", *_label_paths(key)).filter(
        _row_filter(user_ids=user_ids, since=since, until=until)
    )
    if cursor is not None:
        queryset = queryset.filter(cursor.beyond(key, older=older))
    previous = (
        model.objects.filter(id=OuterRef("id"))
        .filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    order = ("-history_date", "-history_id") if older else ("history_date", "history_id")
    return queryset.annotate(previous_history_id=Subquery(previous)).order_by(*order)


def _export_queryset(key: str, app_label: str, model_name: str, *, user_ids=None, since=None, until=None):
    """One audited model's history rows for the export, newest first, each with its labels'
    relations and the compared values of the row before it (`previous_<column>`): one query.

    The row before is LAG over each object's rows (one sorted pass, where a lookup per row would
    cost an index probe each). The filters choose rows outside the window: inside it they would
    also hide the row before a chosen one. So the window runs over every row of the objects
    concerned, and `chosen` (a window over the row alone) carries the filters out of it.
    """
    model = _history_model(app_label, model_name)
    rows = _row_filter(user_ids=user_ids, since=since, until=until)
    queryset = model.objects.select_related("history_user", *_label_paths(key))
    if rows:
        queryset = queryset.filter(id__in=model.objects.filter(rows).values("id"))
    order = [F("history_date").asc(), F("history_id").asc()]
    before = {
        f"previous_{column}": Window(Lag(column), partition_by=[F("id")], order_by=order)
        for column in ("history_id", *(f.attname for f in _compared_fields(model)))
    }
    queryset = queryset.annotate(**before)
    if rows:
        chosen = Case(When(rows, then=Value(1)), default=Value(0), output_field=IntegerField())
        queryset = queryset.annotate(chosen=Window(Max(chosen), partition_by=[F("history_id")])).filter(
            chosen=1
        )
    return queryset.order_by("-history_date", "-history_id")


# The trail's order across the audited tables: time, then the table (its place in AUDITED), then the
# row's id within its table. A total order, so that a page ends on one row and the next page starts
# right after it, even among rows saved at the same instant.
RANK = {key: n for n, (key, _app, _model) in enumerate(AUDITED)}


def _sort_key(pair: tuple[str, Any]) -> tuple:
    key, record = pair
    return (record.history_date, RANK[key], record.history_id)


def _merged(streams, limit: int, *, newest_first: bool = True) -> Iterator[tuple[str, Any]]:
    return itertools.islice(heapq.merge(*streams, key=_sort_key, reverse=newest_first), limit)


@dataclass(frozen=True)
class Cursor:
    """A place in the trail: the row a page ended (or began) on, written into the "older" and
    "newer" links as `<ISO time>~<kind>~<history id>`."""

    when: datetime.datetime
    kind: str
    history_id: int

    @classmethod
    def of(cls, pair: tuple[str, Any]) -> Cursor:
        key, record = pair
        return cls(record.history_date, key, record.history_id)

    def __str__(self) -> str:
        return f"{self.when.isoformat()}~{self.kind}~{self.history_id}"

    @classmethod
    def parse(cls, raw: str) -> Cursor | None:
        """The cursor a link carries; None for anything this module did not write."""
        parts = raw.split("~")
        if len(parts) != 3 or parts[1] not in RANK or not parts[2].isdigit() or len(parts[2]) > 18:
            return None
        try:
            when = datetime.datetime.fromisoformat(parts[0])
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        return cls(when, parts[1], int(parts[2]))

    def beyond(self, key: str, *, older: bool):
        """The condition on table `key`'s rows strictly older (or newer) than this place in the
        trail's order. Within the cursor's own table it is a row comparison on (history_date,
        history_id), which PostgreSQL answers from the index, starting right at the cursor (Django's
        own tuple lookup, the one composite primary keys use; spelled out with AND/OR on SQLite)."""
        rank, mine = RANK[self.kind], RANK[key]
        if mine == rank:
            beyond = TupleLessThan if older else TupleGreaterThan
            return beyond(Tuple(F("history_date"), F("history_id")), (self.when, self.history_id))
        if older:
            return Q(history_date__lte=self.when) if mine < rank else Q(history_date__lt=self.when)
        return Q(history_date__gte=self.when) if mine > rank else Q(history_date__gt=self.when)


def audit_changes(
    *,
    kind: str | None = None,
    username: str | None = None,
    since=None,
    until=None,
    limit=200,
    cursor: Cursor | None = None,
    older: bool = True,
) -> list[tuple[str, Any]]:
    """The history rows of the audited models (all, or one kind) next to `cursor` (the newest
    when None), as (kind, record) pairs newest first: one ordered query per model, each limited
    in SQL to `limit` rows, merged. `older` chooses the side of the cursor."""
    user_ids = _user_ids(username)
    streams = []
    for key, app_label, model_name in AUDITED:
        if kind and key != kind:
            continue
        queryset = _history_queryset(
            key,
            app_label,
            model_name,
            user_ids=user_ids,
            since=since,
            until=until,
            cursor=cursor,
            older=older,
        )
        streams.append(zip(itertools.repeat(key), iter(queryset[:limit]), strict=False))
    pairs = list(_merged(streams, limit, newest_first=older))
    return pairs if older else pairs[::-1]


@dataclass
class ChangesPage:
    """One page of the trail, and the cursors of the pages either side (None where there is none)."""

    pairs: list[tuple[str, Any]]
    older: Cursor | None
    newer: Cursor | None


def changes_page(*, cursor: Cursor | None = None, older: bool = True, size: int | None = None, **filters):
    """The `size` changes older (or newer) than `cursor`; no count of the trail, only one row
    more than the page to know whether there is a page beyond it.

    Coming back towards the newest, a page short of `size` has reached the top: the newest page is
    shown whole instead, as the first page shows it."""
    size = size or PAGE_SIZE
    pairs = audit_changes(**filters, limit=size + 1, cursor=cursor, older=older)
    more = len(pairs) > size
    if older:
        pairs = pairs[:size]
        has_older, has_newer = more, cursor is not None
    else:
        if not more:
            return changes_page(size=size, **filters)
        pairs = pairs[-size:]
        has_older, has_newer = True, True
    return ChangesPage(
        pairs=pairs,
        older=Cursor.of(pairs[-1]) if has_older and pairs else None,
        newer=Cursor.of(pairs[0]) if has_newer and pairs else None,
    )


def export_changes(
    *, kind=None, username=None, since=None, until=None, limit: int, chunk_size: int
) -> Iterator[Change]:
    """Every change of the filtered trail, newest first: one query per model, each
    read in chunks (a server-side cursor on PostgreSQL), so memory holds a chunk per model."""
    user_ids = _user_ids(username)
    streams = []
    for key, app_label, model_name in AUDITED:
        if kind and key != kind:
            continue
        queryset = _export_queryset(key, app_label, model_name, user_ids=user_ids, since=since, until=until)
        streams.append(
            zip(itertools.repeat(key), queryset[:limit].iterator(chunk_size=chunk_size), strict=False)
        )
    for key, record in _merged(streams, limit):
        fields = _compared_fields(type(record))
        previous = (
            {f.attname: getattr(record, f"previous_{f.attname}") for f in fields}
            if record.previous_history_id is not None
            else None
        )
        yield _change(key, record, previous)


def as_changes(pairs) -> list[Change]:
    """Turn the page's (kind, record) pairs into Changes with a constant number of queries: the
    previous history rows (for before → after) in one query per model; the labels' relations came
    with the records."""
    pairs = list(pairs)
    by_model: dict[type, list[int]] = defaultdict(list)
    for _key, record in pairs:
        if record.history_type == "~" and record.previous_history_id:
            by_model[type(record)].append(record.previous_history_id)
    previous = {}
    for model, ids in by_model.items():
        previous.update({(model, row.history_id): row for row in model.objects.filter(history_id__in=ids)})
    changes = []
    for key, record in pairs:
        before = previous.get((type(record), record.previous_history_id))
        values = None
        if before is not None:
            values = {f.attname: getattr(before, f.attname) for f in _compared_fields(type(record))}
        changes.append(_change(key, record, values))
    return changes


def _change(key: str, record, previous: dict | None) -> Change:
    return Change(
        when=record.history_date,
        kind=key,
        object_id=record.id,
        object_label=_label(key, record),
        action=str(ACTIONS.get(record.history_type, record.history_type)),
        user=record.history_user.get_username() if record.history_user else "",
        ip_address=record.ip_address,
        changes=_field_changes(record, previous),
    )


def _label(key: str, record) -> str:
    """The record's __str__ as it was, from the history row and the relations joined to it."""
    if record.history_type == "-":
        return f"#{record.id}"
    # Built from the row's own columns: simple-history's `instance` would read the columns kept out
    # of the history (an official's search keys) from the live row, one query per record.
    model = type(record)
    kept = {f.attname for f in model._meta.concrete_fields}
    instance = model.instance_type(
        **{
            f.attname: getattr(record, f.attname)
            for f in model.instance_type._meta.concrete_fields
            if f.attname in kept
        }
    )
    for name in LABEL_RELATIONS.get(key, {}):
        related = getattr(record, name)
        if related is None:  # a related row deleted since: the id still identifies the record
            return f"#{record.id}"
        setattr(instance, name, related)
    return str(instance)


def _field_changes(record, previous: dict | None) -> list[tuple[str, str, str]]:
    """(field, before, after) for each compared column; `previous` holds the row before's values."""
    fields = _compared_fields(type(record))
    if record.history_type == "~":
        if previous is None:
            return []
        return [
            (f.name, _text(previous[f.attname]), _text(getattr(record, f.attname)))
            for f in fields
            if previous[f.attname] != getattr(record, f.attname)
        ]
    values = [(f.name, _text(getattr(record, f.attname, None))) for f in fields]
    if record.history_type == "+":
        return [(name, "", value) for name, value in values]
    return [(name, value, "") for name, value in values]


def _text(value) -> str:
    return "" if value is None else str(value)


def _login_rows(*, username=None, since=None, until=None, limit: int, chunk_size: int | None = None):
    """Successful and failed log-ins, newest first: (time, outcome, username, address, agent); one
    query each, merged lazily (in chunks when `chunk_size` is given)."""
    from axes.models import AccessFailureLog, AccessLog

    streams = []
    for model, outcome in ((AccessLog, _("logged in")), (AccessFailureLog, _("failed log-in"))):
        queryset = model.objects.all()
        if username:
            queryset = queryset.filter(username=username)
        if since:
            queryset = queryset.filter(attempt_time__gte=since)
        if until:
            queryset = queryset.filter(attempt_time__lt=until)
        queryset = queryset.order_by("-attempt_time", "-id")[:limit]
        rows = queryset.iterator(chunk_size=chunk_size) if chunk_size else iter(queryset)
        streams.append(_login_entries(rows, outcome, failures=model is AccessFailureLog))
    return itertools.islice(heapq.merge(*streams, key=lambda entry: entry[0], reverse=True), limit)


def _login_entries(rows, outcome, *, failures: bool):
    for row in rows:
        label = _("failed log-in, locked out") if failures and row.locked_out else outcome
        yield (row.attempt_time, label, row.username or "", row.ip_address, row.user_agent)


def audit_logins(*, username: str | None = None, since=None, until=None, limit=200) -> list:
    """Successful and failed log-ins, newest first: (time, outcome, username, address, agent)."""
    return list(_login_rows(username=username, since=since, until=until, limit=limit))


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
    query = request.GET.copy()
    for name in ("page", "older", "newer"):
        query.pop(name, None)
    context = {
        "show": show,
        "errors": errors,
        "kinds": [(key, _history_model(a, m).instance_type._meta.verbose_name) for key, a, m in AUDITED],
        "filters": {k: request.GET.get(k, "") for k in ("kind", "user", "since", "until")},
        "query": query.urlencode(),
    }
    if show == "logins":
        entries = audit_logins(**{k: v for k, v in filters.items() if k != "kind"}, limit=PAGE_LIMIT)
        context["page"] = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        # Keyset pages ("older"/"newer" than the row a page ended on): each reads only its rows
        # from the tables' (history_date, history_id) index, however long the trail; no total.
        older = "newer" not in request.GET
        raw = request.GET.get("older" if older else "newer")
        cursor = Cursor.parse(raw) if raw is not None else None
        if raw is not None and cursor is None:
            errors.append(_("That page link is not valid: showing the newest changes instead."))
            older = True
        page = changes_page(cursor=cursor, older=older, **filters)
        # Only the page's rows are turned into changes, in bulk: the queries do not grow with them.
        context.update(changes=as_changes(page.pairs), older=page.older, newer=page.newer)
    return render(request, "audit/audit_log.html", context)


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
        # One query per model read in chunks, each row with the values before it and its label's
        # relations: the queries do not grow with the rows, and memory holds a chunk per model.
        for change in export_changes(**filters, limit=EXPORT_LIMIT, chunk_size=EXPORT_CHUNK):
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
            logins = _login_rows(**login_filters, limit=EXPORT_LIMIT, chunk_size=EXPORT_CHUNK)
            for when, outcome, username, address, _agent in logins:
                yield writer.writerow(
                    safe_row(
                        [when.isoformat(), "login", "", "", str(outcome), username, address or "", "", "", ""]
                    )
                )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="pcp-audit-{stamp}.csv"'
    return response
