"""API keys and deletion records moved from courses to the platform without touching their tables:
a database migrated before the move keeps every key (partners' keys still work), every deletion
record, and the admin history of those rows."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient
from rest_framework_api_key.crypto import KeyGenerator, concatenate

from pcp_portal.models import APIAccessKey, DeletedRecord
from tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The last migrations before the move.
BEFORE_THE_MOVE = [("courses", "0006_change_feed_triggers"), ("pcp_portal", "0002_outbox")]
MOVED = ["apiaccesskey", "deletedrecord"]


def _migrate(targets=None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def test_keys_deletion_records_and_their_admin_history_survive_the_move_to_the_platform(staff):
    try:
        _migrate(BEFORE_THE_MOVE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE_THE_MOVE).apps
        # The content types as a database created before the move has them.
        OldContentType = old.get_model("contenttypes", "ContentType")
        OldContentType.objects.filter(app_label="pcp_portal", model__in=MOVED).delete()
        key_type, _created = OldContentType.objects.get_or_create(app_label="courses", model="apiaccesskey")

        secret, prefix, hashed_key = KeyGenerator().generate()
        old_key = old.get_model("courses", "APIAccessKey").objects.create(
            id=concatenate(prefix, hashed_key),
            prefix=prefix,
            hashed_key=hashed_key,
            name="Ministry of Labour system",
            role="unido_officer",
        )
        OldDeleted = old.get_model("courses", "DeletedRecord")
        OldDeleted.objects.create(resource="sessions", object_id=41)
        OldDeleted.objects.create(resource="officials", object_id=7)
        tombstones_before = list(OldDeleted.objects.order_by("pk").values_list("pk", "resource", "object_id"))
        LogEntry.objects.create(
            user_id=staff.pk,
            content_type_id=key_type.pk,
            object_id=old_key.pk,
            object_repr="Ministry of Labour system",
            action_flag=ADDITION,
        )
    finally:
        _migrate()

    key = APIAccessKey.objects.get(prefix=prefix)
    assert (key.name, key.role, key.hashed_key) == ("Ministry of Labour system", "unido_officer", hashed_key)
    assert list(DeletedRecord.objects.order_by("pk").values_list("pk", "resource", "object_id")) == (
        tombstones_before
    )

    # The admin's record of the key still leads to it, under the platform's content type.
    entry = LogEntry.objects.get(object_repr="Ministry of Labour system")
    assert entry.content_type_id == key_type.pk
    assert entry.get_edited_object() == key
    assert ContentType.objects.get_for_model(APIAccessKey).pk == key_type.pk

    # The partner's key still opens the API, and a deletion still leaves its record.
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert partner.get("/api/v1/programmes/").status_code == 200
    programme = ProgrammeFactory()
    programme_id = programme.pk
    programme.delete()
    assert DeletedRecord.objects.filter(resource="programmes", object_id=programme_id).exists()


def test_a_database_created_after_the_move_has_the_tables_under_their_old_names():
    call_command("migrate", verbosity=0)
    assert APIAccessKey._meta.db_table == "courses_apiaccesskey"
    assert DeletedRecord._meta.db_table == "courses_deletedrecord"
    tables = connection.introspection.table_names()
    assert {"courses_apiaccesskey", "courses_deletedrecord"} <= set(tables)
    assert ContentType.objects.filter(app_label="courses", model__in=MOVED).count() == 0
