"""The plan of an import moves from one JSON document on the batch to a table of rows, copied over."""

import django.db.models.deletion
from django.db import migrations, models


def rows_to_table(apps, schema_editor):
    ImportBatch = apps.get_model("participants", "ImportBatch")
    ImportRow = apps.get_model("participants", "ImportRow")
    for batch in ImportBatch.objects.exclude(rows=[]).iterator(chunk_size=20):
        ImportRow.objects.bulk_create(
            [
                ImportRow(batch=batch, index=index, line=row["line"], action=row["action"], plan=row)
                for index, row in enumerate(batch.rows)
            ],
            batch_size=1000,
        )


def table_to_rows(apps, schema_editor):
    ImportBatch = apps.get_model("participants", "ImportBatch")
    ImportRow = apps.get_model("participants", "ImportRow")
    for batch in ImportBatch.objects.iterator(chunk_size=20):
        batch.rows = list(
            ImportRow.objects.filter(batch=batch).order_by("index").values_list("plan", flat=True)
        )
        batch.save(update_fields=["rows"])


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0015_merge_series_certificates_and_attendance_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportRow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("index", models.PositiveIntegerField(verbose_name="position in the plan")),
                ("line", models.PositiveIntegerField(verbose_name="line in the file")),
                ("action", models.CharField(max_length=10, verbose_name="action")),
                ("plan", models.JSONField(verbose_name="planned row")),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="plan_rows",
                        to="participants.importbatch",
                        verbose_name="import",
                    ),
                ),
            ],
            options={
                "verbose_name": "planned import row",
                "verbose_name_plural": "planned import rows",
                "ordering": ["batch", "index"],
                "indexes": [models.Index(fields=["batch", "action", "index"], name="import_row_by_action")],
                "constraints": [
                    models.UniqueConstraint(fields=("batch", "index"), name="import_row_unique_position")
                ],
            },
        ),
        migrations.RunPython(rows_to_table, table_to_rows),
        migrations.RemoveField(
            model_name="importbatch",
            name="rows",
        ),
    ]
