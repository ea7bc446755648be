"""Backup → wipe → restore gives back identical rows, on PostgreSQL (pg_dump/pg_restore, custom
format) and on the embedded SQLite (its backup API); a wrong file changes nothing."""

import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from participants.models import Attendance, Official
from pcp_portal.models import OutboxEvent
from tests.factories import AttendanceFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


# A restore deliberately starts a new change-feed epoch (partners' tokens get 410), so the feed's
# horizon row is the one row a restore changes.
NOT_RESTORED = {"pcp_portal.ChangeFeedHorizon"}


def snapshot(*, exclude=NOT_RESTORED) -> dict:
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.label not in exclude
    }


DERIVED = ("participants.EnrolmentRollup", "participants.SessionRollup")


def derived_rows() -> dict:
    """The derived tables' rows without their ids, in a stable order."""
    rows = {}
    for label in DERIVED:
        model = apps.get_model(label)
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        rows[label] = sorted(model._base_manager.values_list(*fields), key=repr)
    return rows


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


def _older_version_backup(tmp_path, staff, suffix):
    """A backup taken before the outbox existed, restored on today's schema: migrated, rows intact."""
    some_data(staff)
    # The rollups are derived rows: migrating back up fills them again (new ids, same figures).
    data_models = NOT_RESTORED | {"pcp_portal.OutboxEvent"} | set(DERIVED)
    before = snapshot(exclude=data_models)
    rollups_before = derived_rows()
    path = tmp_path / f"older.{suffix}"
    try:
        call_command("migrate", "pcp_portal", "zero", verbosity=0)  # the portal as it was
        call_command("backup_database", output=str(path))
    finally:
        call_command("migrate", verbosity=0)
    wipe()
    out = io.StringIO()
    call_command("restore_database", str(path), yes=True, stdout=out)
    connection.close()
    assert "migration(s) the backup predates" in out.getvalue()
    assert snapshot(exclude=data_models) == before
    assert derived_rows() == rollups_before
    # The restored portal works: the change feed's trigger logs a new change.
    Attendance.objects.filter(pk=Attendance.objects.first().pk).update(note="after the restore")
    assert OutboxEvent.objects.filter(topic="change", name="attendance").count() == 1


def test_a_postgresql_backup_of_an_older_version_restores_to_a_migrated_working_portal(
    postgres, tmp_path, staff
):
    _older_version_backup(tmp_path, staff, "dump")


def test_an_sqlite_backup_of_an_older_version_restores_to_a_migrated_working_portal(tmp_path, staff):
    if connection.vendor != "sqlite":
        pytest.skip("this run is on PostgreSQL; run without DATABASE_URL for the SQLite path")
    _older_version_backup(tmp_path, staff, "sqlite3")


def test_a_restore_sends_partners_to_a_full_sync(tmp_path, staff):
    from rest_framework.test import APIClient

    from pcp_portal.models import APIAccessKey

    some_data(staff)
    _key, secret = APIAccessKey.objects.create_key(name="partner", role="partner")
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    path = tmp_path / "backup"
    call_command("backup_database", output=str(path))
    token = partner.get("/api/v1/changes/").json()["next_since"]
    assert partner.get("/api/v1/changes/", {"since": token}).status_code == 200
    call_command("restore_database", str(path), yes=True, stdout=io.StringIO())
    connection.close()
    response = partner.get("/api/v1/changes/", {"since": token})
    assert response.status_code == 410 and "full sync" in response.json()["detail"]
    fresh = partner.get("/api/v1/changes/").json()["next_since"]
    assert partner.get("/api/v1/changes/", {"since": fresh}).status_code == 200
