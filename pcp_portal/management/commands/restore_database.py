"""`manage.py restore_database FILE --yes`: replace the whole database with a backup.

PostgreSQL: the schema is dropped and the backup's SQL (from pg_restore) replayed, in one psql
transaction: all or nothing, and no table of a newer version is left behind beside the backup's.
SQLite: SQLite's backup API copies the file over the live database.
The file is checked first: a file that is not a backup of this kind changes nothing.

Then the migrations the backup predates are applied, so a backup taken on an older version gives
a working portal, and the change feed starts a new epoch: every partner's sync token gets 410
(their copies hold changes the restore took back), so each does a full sync.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from pcp_portal import changefeed
from pcp_portal.management.commands.backup_database import run_pg_tool

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class Command(BaseCommand):
    help = "Replace the whole database with a backup made by backup_database (asks for --yes)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--yes", action="store_true", help="confirm that the current data are replaced")
        parser.add_argument("--database", default="default")

    def handle(self, *args, file, yes=False, database="default", **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No backup file at {path}.")
        connection = connections[database]
        vendor = connection.vendor
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        expected = PG_MAGIC if vendor == "postgresql" else SQLITE_MAGIC
        if not head.startswith(expected):
            kind = "a pg_dump custom-format file" if vendor == "postgresql" else "an SQLite database"
            raise CommandError(f"{path} is not {kind}; nothing was changed.")
        if not yes:
            raise CommandError("Restoring replaces every row of the current database: add --yes to confirm.")
        if vendor == "postgresql":
            self._pg_restore(connection, path)
        elif vendor == "sqlite":
            self._sqlite_restore(connection, path)
        else:
            raise CommandError(f"Restoring a {vendor} database is not supported.")
        self.stdout.write(f"Restored the {vendor} database from {path}.")
        connection.close()
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            call_command("migrate", interactive=False, verbosity=0, database=database)
            self.stdout.write(f"Applied {len(plan)} migration(s) the backup predates.")
        changefeed.start_new_epoch()
        self.stdout.write("Partner systems must do a full sync: their change-feed tokens now get 410.")

    def _pg_restore(self, connection, path: Path) -> None:
        db = connection.settings_dict
        connection.close()  # our own session must not hold locks on the tables being replaced
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "restore.sql"
            command = ["pg_restore", "--no-owner", "--no-privileges", f"--file={script}", str(path)]
            result = run_pg_tool(command, db)
            if result.returncode != 0:
                raise CommandError(
                    f"pg_restore could not read {path}, nothing was changed: {result.stderr.strip()}"
                )
            command = [
                "psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
                "--command=DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
                f"--file={script}", f"--dbname={db['NAME']}",
            ]  # fmt: skip
            result = run_pg_tool(command, db)
            if result.returncode != 0:
                raise CommandError(f"Restoring failed, nothing was changed: {result.stderr.strip()}")

    def _sqlite_restore(self, connection, path: Path) -> None:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise CommandError(f"{path} is a damaged SQLite file; nothing was changed.")
            connection.ensure_connection()
            source.backup(connection.connection)
        finally:
            source.close()
