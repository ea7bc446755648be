"""The officials' search columns, filled for the officials already there, and on PostgreSQL the
pg_trgm extension with trigram indexes on them (participants/search.py): a LIKE '%…%' on a GIN
trigram index stays fast at tens of thousands of officials. SQLite gets the columns only."""

from django.db import migrations, models

from pcp_portal import outbox
from pcp_portal.text import name_key, phone_key

# SQLite rebuilds the table to add a column, dropping its change-feed triggers: they are put back.
OFFICIAL_TRIGGERS = {"participants_official": "officials"}

INDEXES = {
    "official_search_names_trgm": "search_names",
    "official_search_contact_trgm": "search_contact",
}


def fill(apps, schema_editor):
    # The same keys as participants.models.official_search_keys, written here so that the
    # migration does not change when the model's code does.
    Official = apps.get_model("participants", "Official")
    for official in Official.objects.all().iterator():
        family, given = official.family_name, official.given_name
        names = (name_key(f"{family}{given}"), name_key(f"{given}{family}"), name_key(official.name_km))
        contact = (phone_key(official.phone), official.email.strip().lower())
        official.search_names = " ".join(dict.fromkeys(key for key in names if key))
        official.search_contact = " ".join(part for part in contact if part)
        official.save(update_fields=["search_names", "search_contact"])


def create_extension(apps, schema_editor):
    # Not TrigramExtension: its backwards step queries pg_extension on any database (so SQLite
    # cannot migrate back past this), and dropping an extension other objects may use is no undo.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON participants_official USING gin ({column} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0011_merge_officials_and_channels"),
    ]

    operations = [
        migrations.RunPython(create_extension, migrations.RunPython.noop),
        outbox.change_triggers_kept(OFFICIAL_TRIGGERS),
        migrations.AddField(
            model_name="official",
            name="search_contact",
            field=models.CharField(blank=True, editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="official",
            name="search_names",
            field=models.CharField(blank=True, editable=False, max_length=620),
        ),
        outbox.change_triggers_kept(OFFICIAL_TRIGGERS),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
