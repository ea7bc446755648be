"""Inserting many rows of any model with PostgreSQL's COPY, with their simple-history rows.

`bulk_create` builds a model instance per row and binds every value through the field's
`get_db_prep_save`; for tens of thousands of rows (an import) that Python work costs as much as
the INSERTs themselves. Here the caller gives plain values (attname -> value), the ids are taken
from the table's sequence up front (nextval over generate_series, so no RETURNING is needed and
the history rows can name them), and the rows go in with one COPY per table. COPY fires the
tables' row triggers like INSERT does (the change feed), and the constraints hold as for INSERT.

PostgreSQL only (`available()`); callers keep bulk_create for SQLite.
"""

from __future__ import annotations

import datetime
import decimal
import io
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def available() -> bool:
    return connection.vendor == "postgresql"


def _text(value: Any) -> str:
    """One value in COPY's text format, as psycopg2 would have bound it for an INSERT."""
    kind = type(value)  # the common types first, by identity: this runs for every value
    if kind is str:
        return value.translate(_ESCAPES)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if isinstance(value, str):
        return str.translate(value, _ESCAPES)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (int, float, decimal.Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"COPY of a {type(value).__name__} value is not supported: {value!r}")


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new ids from the sequence of `model`'s primary key, in increasing order."""
    if count == 0:
        return []
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY `rows` (tuples of plain values, in the order of the attnames `columns`) into `model`'s table."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    _copy(model._meta.db_table, [fields[name].column for name in columns], rows)


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    data = "".join("\t".join(map(_text, row)) + "\n" for row in rows)
    if not data:
        return
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    # The raw cursor's COPY: its errors are turned into Django's (an IntegrityError for a
    # constraint) as a query's would be.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN", io.StringIO(data))


def _history_fields(
    *,
    history_type: str,
    history_user_id: int | None,
    history_date: datetime.datetime,
    history_change_reason: str | None,
    history_attrs: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "history_date": history_date,
        "history_change_reason": history_change_reason,
        "history_type": history_type,
        "history_user_id": history_user_id,
        **(history_attrs or {}),
    }


def _copy_history(
    model: type[models.Model], ids: Sequence[int], rows: list[dict[str, Any]], fixed: dict
) -> None:
    """One history row per row (its id, its tracked values as given, then the `fixed` values)."""
    history = model.history.model
    pk = model._meta.pk.attname
    tracked = [field.attname for field in history.tracked_fields if field.attname != pk]
    copy_rows(
        history,
        [pk, *tracked, *fixed],
        (
            [row_id, *(row[name] for name in tracked), *fixed.values()]
            for row_id, row in zip(ids, rows, strict=True)
        ),
    )


def insert_with_history(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    history_user_id: int | None,
    history_date: datetime.datetime,
    history_change_reason: str | None = None,
    history_attrs: dict[str, Any] | None = None,
) -> list[int]:
    """Insert `rows` (attname -> value, every concrete field but the primary key) into `model`'s
    table and one "+" history row each into its simple-history table, as simple-history's
    bulk_create_with_history writes them; returns the new ids, in the order of `rows`."""
    if not rows:
        return []
    ids = allocate_ids(model, len(rows))
    pk = model._meta.pk.attname
    columns = [field.attname for field in model._meta.concrete_fields if field.attname != pk]
    copy_rows(
        model,
        [pk, *columns],
        ([new_id, *(row[name] for name in columns)] for new_id, row in zip(ids, rows, strict=True)),
    )
    fixed = _history_fields(
        history_type="+",
        history_user_id=history_user_id,
        history_date=history_date,
        history_change_reason=history_change_reason,
        history_attrs=history_attrs,
    )
    _copy_history(model, ids, rows, fixed)
    return ids


def update_with_history(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    *,
    history_user_id: int | None,
    history_date: datetime.datetime,
    history_change_reason: str | None = None,
    history_attrs: dict[str, Any] | None = None,
) -> None:
    """Set the attnames `columns` of existing rows to the values in `rows` (attname -> value, the
    primary key and every tracked field: the row as it is to be), and write one "~" history row
    each, as simple-history's bulk_update_with_history does. The new values go into a temporary
    staging table by COPY and then into the table by one `UPDATE … FROM`, so the row triggers see
    an UPDATE as with bulk_update. The caller holds the rows locked."""
    if not rows:
        return
    meta = model._meta
    pk = meta.pk.attname
    fields = {field.attname: field for field in meta.concrete_fields}
    quote = connection.ops.quote_name
    table, staging = quote(meta.db_table), quote(f"pcp_staging_{meta.db_table}")
    key = quote(meta.pk.column)
    names = [quote(fields[name].column) for name in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {key}, {', '.join(names)} FROM {table} WITH NO DATA"
        )
        _copy(
            f"pcp_staging_{meta.db_table}",
            [meta.pk.column, *(fields[name].column for name in columns)],
            ([row[pk], *(row[name] for name in columns)] for row in rows),
        )
        cursor.execute(
            f"UPDATE {table} AS t SET {', '.join(f'{name} = s.{name}' for name in names)} "
            f"FROM {staging} AS s WHERE t.{key} = s.{key}"
        )
        cursor.execute(f"DROP TABLE {staging}")
    fixed = _history_fields(
        history_type="~",
        history_user_id=history_user_id,
        history_date=history_date,
        history_change_reason=history_change_reason,
        history_attrs=history_attrs,
    )
    _copy_history(model, [row[pk] for row in rows], rows, fixed)
