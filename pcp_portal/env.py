"""Strict readers for settings that come from the environment.

Each helper refuses a value it cannot parse with a one-line message naming the
variable, so a typo in a deployment stops start-up instead of running on a
silently wrong default (the habit is taken from healthchecks' settings).
"""

from __future__ import annotations

import os

import dj_database_url


class ImproperlyConfiguredEnv(SystemExit):
    """Raised for a bad environment value; a SystemExit so start-up prints one line, not a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Configuration error: {message}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} must be at least {minimum}.")
    return value


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a number.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfiguredEnv(f"{name}={value} must be between {minimum} and {maximum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_DB_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def env_database(name: str, default_sqlite_path: str) -> dict:
    """Parse DATABASE_URL; only PostgreSQL and SQLite are supported."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": default_sqlite_path,
            # Wait instead of failing at once when the web server and the worker write together:
            # the busy timeout, transactions that take the write lock when they begin (a deferred
            # one that reads first and then writes gets "database is locked" at once, without
            # waiting, when another writer holds the lock), and WAL so readers never block writers.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in _DB_SCHEMES:
        raise ImproperlyConfiguredEnv(
            f"{name} must look like postgres://user@host:5432/dbname or sqlite:///path/to/file.sqlite3 "
            f"(got a value starting {raw[:12]!r})."
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except Exception:  # dj-database-url raises ParseError/ValueError with little text
        raise ImproperlyConfiguredEnv(
            f"{name} cannot be parsed; check the host, the port (a number) and the database name."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfiguredEnv(f"{name} names no database (add /dbname at the end).")
    if scheme != "sqlite":
        port = config.get("PORT")
        if port not in ("", None):
            try:
                int(port)
            except (TypeError, ValueError):
                raise ImproperlyConfiguredEnv(f"{name} has a port that is not a number.") from None
    return config
