"""API keys and deletion records now belong to pcp_portal (its 0003 takes over the tables): here
they leave courses' model state only; the tables and their rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0006_change_feed_triggers"),
        ("pcp_portal", "0003_api_keys_and_tombstones_from_courses"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="APIAccessKey"),
                migrations.DeleteModel(name="DeletedRecord"),
            ],
            database_operations=[],
        ),
    ]
