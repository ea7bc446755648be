"""Backup → wipe → restore gives back identical rows, on PostgreSQL (pg_dump/pg_restore, custom
format) and on the embedded SQLite (its backup API); a wrong file changes nothing."""

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from participants.models import Attendance, Official
from tests.factories import AttendanceFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict:
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if not model._meta.proxy
    }


def some_data(staff):
    session = SessionFactory()
    for status in ("present", "late", "absent"):
        AttendanceFactory(
            enrollment=EnrollmentFactory(course=session.course),
            session=session,
            status=status,
            recorded_by=staff,
        )


def wipe():
    Attendance.objects.all().delete()
    for model in (Attendance.history.model, Official.history.model):
        model.objects.all().delete()
    assert not Attendance.objects.exists()


def backup_wipe_restore(tmp_path, staff, suffix):
    some_data(staff)
    before = snapshot()
    path = tmp_path / f"backup.{suffix}"
    call_command("backup_database", output=str(path))
    assert path.stat().st_size > 0 and oct(path.stat().st_mode & 0o777) == "0o600"
    wipe()
    call_command("restore_database", str(path), yes=True)
    connection.close()
    assert snapshot() == before
    assert Attendance.objects.count() == 3


def test_postgresql_backup_wipe_restore_gives_identical_rows(postgres, tmp_path, staff):
    backup_wipe_restore(tmp_path, staff, "dump")


def test_sqlite_backup_wipe_restore_gives_identical_rows(tmp_path, staff):
    if connection.vendor != "sqlite":
        pytest.skip("this run is on PostgreSQL; run without DATABASE_URL for the SQLite path")
    backup_wipe_restore(tmp_path, staff, "sqlite3")


def test_restore_refuses_a_file_that_is_not_a_backup_or_is_not_confirmed(tmp_path, staff):
    some_data(staff)
    before = snapshot()
    bogus = tmp_path / "notes.txt"
    bogus.write_text("DROP TABLE participants_official;")
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("restore_database", str(bogus), yes=True)
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore_database", str(tmp_path / "missing.dump"), yes=True)
    good = tmp_path / "good"
    call_command("backup_database", output=str(good))
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore_database", str(good))
    assert snapshot() == before
