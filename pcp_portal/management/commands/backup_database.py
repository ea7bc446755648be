"""`manage.py backup_database`: one file holding the whole database.

PostgreSQL: pg_dump in its custom format (restore with pg_restore, or `restore_database`).
SQLite (the embedded default): SQLite's online backup API, safe while the portal runs.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

PG_TIMEOUT = 60 * 60


def pg_environment(db: dict) -> dict:
    """libpq's environment for the Django connection settings (no password on a command line)."""
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    env["PGDATABASE"] = db["NAME"]
    return env


def run_pg_tool(command: list[str], db: dict) -> subprocess.CompletedProcess:
    """Run pg_dump/pg_restore against `db`, bounded in time; a missing tool is a clear CommandError."""
    try:
        return subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            command,
            env=pg_environment(db),
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise CommandError(f"{command[0]} is not installed (apt-get install postgresql-client).") from None


def default_backup_path(vendor: str) -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    suffix = "dump" if vendor == "postgresql" else "sqlite3"
    return Path(settings.VAR_DIR) / "backups" / f"pcp-portal-{stamp}.{suffix}"


class Command(BaseCommand):
    help = "Back up the whole database to one file (pg_dump custom format, or SQLite's backup API)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="file to write (default: var/backups/pcp-portal-<time>.*)")
        parser.add_argument("--database", default="default")

    def handle(self, *args, output=None, database="default", **options):
        connection = connections[database]
        vendor = connection.vendor
        path = Path(output) if output else default_backup_path(vendor)
        if path.exists() and path.is_dir():
            raise CommandError(f"{path} is a folder; give a file name.")
        path.parent.mkdir(parents=True, exist_ok=True)
        if vendor == "postgresql":
            self._pg_dump(connection.settings_dict, path)
        elif vendor == "sqlite":
            self._sqlite_backup(connection, path)
        else:
            raise CommandError(f"Backing up a {vendor} database is not supported.")
        os.chmod(path, 0o600)  # the backup holds personal data
        self.stdout.write(f"Backed up the {vendor} database to {path} ({path.stat().st_size} bytes).")
        return None

    def _pg_dump(self, db: dict, path: Path) -> None:
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"]
        result = run_pg_tool(command, db)
        if result.returncode != 0:
            path.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")

    def _sqlite_backup(self, connection, path: Path) -> None:
        connection.ensure_connection()
        path.unlink(missing_ok=True)
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
