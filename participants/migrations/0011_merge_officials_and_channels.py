# Two branches of the officials table (merging records; reminder channels) joined.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0009_official_merge"),
        ("participants", "0010_certificate_change_trigger"),
    ]

    operations = []
