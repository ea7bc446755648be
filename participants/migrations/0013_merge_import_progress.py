# The import progress branch joined with the officials, channels and search branches.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('participants', '0009_import_background_preview_progress'),
        ('participants', '0012_official_search_columns'),
    ]

    operations = [
    ]
