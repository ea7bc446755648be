"""Fill the figures' rollups for the record as it stands (they are kept from then on by the
services). The statements are participants.rollups' own, so this fill and every later refresh
count alike; they read only tables that exist at this point."""

from django.db import migrations


def fill(apps, schema_editor):
    from participants import rollups

    rollups.rebuild()


def empty(apps, schema_editor):
    apps.get_model("participants", "SessionRollup").objects.all().delete()
    apps.get_model("participants", "EnrolmentRollup").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("participants", "0016_enrolment_and_session_rollups")]

    operations = [migrations.RunPython(fill, empty)]
