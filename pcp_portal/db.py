"""Abstract model bases shared by the apps (timestamps, public-record provenance, history with the
client's address) and the database connection's setup."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pcp_portal.middleware import client_ip


class TimeStampedModel(models.Model):
    # updated_at is indexed: the API's `updated_since` sync and cursor pagination read it.
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class ReferenceRecordModel(models.Model):
    """A row that may come from the public record (shared/reference), with the source of each fact.

    `reference_key` names the record in the public-record data ("ministry:mih"); `sources`
    maps a field name to the URLs that state it, so a page can cite it. `reference_hash`
    is the fingerprint of the values the loader last wrote: if the row's values no longer
    match it, staff have edited the row and the loader leaves it alone.
    """

    REFERENCE_FIELDS: tuple[str, ...] = ()

    reference_key = models.CharField(
        _("public-record key"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    reference_hash = models.CharField(max_length=64, blank=True, editable=False)
    sources = models.JSONField(_("sources"), default=dict, blank=True)
    source_notes = models.JSONField(_("notes on the sources"), default=dict, blank=True)

    class Meta:
        abstract = True

    def reference_values(self) -> dict:
        values = {}
        for name in self.REFERENCE_FIELDS:
            value = getattr(self, name)
            if hasattr(value, "pk"):
                value = value.pk
            values[name] = value
        return values

    def compute_reference_hash(self) -> str:
        payload = json.dumps(self.reference_values(), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def is_public_record(self) -> bool:
        return bool(self.reference_key)

    @property
    def edited_since_loaded(self) -> bool:
        return bool(self.reference_key) and self.compute_reference_hash() != self.reference_hash

    def source_for(self, field: str) -> list[str]:
        urls = self.sources.get(field) or []
        return [urls] if isinstance(urls, str) else list(urls)


class HistoryWithIPAddress(models.Model):
    """Base for django-simple-history's tables: each change also records the client's address."""

    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        abstract = True


class AuditedHistory(HistoricalRecords):
    """History whose rows the audit page reads newest first, a page at a time (keyset on
    history_date then history_id): an index on both lets each table answer "the 51 rows before
    this one" from the index's end, where simple-history's own index on history_date alone leaves
    every row of a shared time (rows written in one transaction or by one import) to be sorted."""

    def get_meta_options(self, model):
        options = super().get_meta_options(model)
        name = f"hist_{model._meta.model_name[:16]}_date_id"
        options["indexes"] = (
            *options.get("indexes", ()),
            models.Index(fields=("history_date", "history_id"), name=name),
        )
        return options


def history_ip_address() -> str | None:
    """The address of the client whose request is being served, for a history row; None outside one.

    The address the log-in protection sees (client_ip, the AXES_CLIENT_IP_CALLABLE): behind
    PCP_PROXY_COUNT trusted proxies REMOTE_ADDR is the proxy's, not the person's. Rows saved one
    by one get it through record_history_ip_address; rows written in bulk (bulk_history_create
    sends no signal) ask for it here.
    """
    request = getattr(HistoricalRecords.context, "request", None)
    return client_ip(request) if request is not None else None


def record_history_ip_address(sender, **kwargs) -> None:
    """pre_create_historical_record receiver: copy the client's address onto the history row."""
    history_instance = kwargs["history_instance"]
    if hasattr(history_instance, "ip_address"):
        address = history_ip_address()
        if address is not None:
            history_instance.ip_address = address


def use_sqlite_variable_limit(sender, connection, **kwargs) -> None:
    """On SQLite, let bulk writes bind as many values per statement as the library allows.

    Django assumes SQLite's historical limit of 999 bound values and splits every bulk insert and
    update to fit: a 200-row register became three inserts and four of history. SQLite has
    allowed 32,766 since 3.32, and the library in use says its own limit.
    """
    if connection.vendor == "sqlite":
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        connection.features.max_query_params = max(limit, connection.features.max_query_params)
