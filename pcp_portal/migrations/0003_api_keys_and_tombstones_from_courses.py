"""API keys and deletion records become the platform's models. Their tables stay as they are
(`courses_apiaccesskey`, `courses_deletedrecord`, with every row): only Django's record of which
app owns them changes, and the content types follow so admin history and permissions keep
pointing at them."""

import django.utils.timezone
from django.db import migrations, models

MOVED = ["apiaccesskey", "deletedrecord"]


def content_types_to_platform(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    # A database created after this move has no courses rows to carry over; one migrated from
    # before keeps the same content type ids, so admin log entries and permissions still match.
    if not ContentType.objects.using(db).filter(app_label="pcp_portal", model__in=MOVED).exists():
        ContentType.objects.using(db).filter(app_label="courses", model__in=MOVED).update(app_label="pcp_portal")


def content_types_to_courses(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="courses", model__in=MOVED).exists():
        ContentType.objects.using(db).filter(app_label="pcp_portal", model__in=MOVED).update(app_label="courses")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("pcp_portal", "0002_outbox"),
        # The tables were created there; this migration only takes them over.
        ("courses", "0006_change_feed_triggers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="APIAccessKey",
                    fields=[
                        (
                            "id",
                            models.CharField(
                                editable=False, max_length=150, primary_key=True, serialize=False, unique=True
                            ),
                        ),
                        ("prefix", models.CharField(editable=False, max_length=8, unique=True)),
                        ("hashed_key", models.CharField(editable=False, max_length=150)),
                        ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "name",
                            models.CharField(
                                default=None,
                                help_text="A free-form name for the API key. Need not be unique. 50 characters max.",
                                max_length=50,
                            ),
                        ),
                        (
                            "revoked",
                            models.BooleanField(
                                blank=True,
                                default=False,
                                help_text="If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)",
                            ),
                        ),
                        (
                            "expiry_date",
                            models.DateTimeField(
                                blank=True,
                                help_text="Once API key expires, clients cannot use it anymore.",
                                null=True,
                                verbose_name="Expires",
                            ),
                        ),
                        (
                            "role",
                            models.CharField(
                                choices=[
                                    ("partner", "Partner (read-only, no contact details)"),
                                    ("unido_officer", "UNIDO officer (reads everything)"),
                                    ("mih_staff", "MIH staff (reads and writes)"),
                                ],
                                default="partner",
                                max_length=20,
                                verbose_name="role",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "API key",
                        "verbose_name_plural": "API keys",
                        "ordering": ("-created",),
                        "abstract": False,
                        "db_table": "courses_apiaccesskey",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("role__in", ["partner", "unido_officer", "mih_staff"])),
                                name="api_key_role_valid",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DeletedRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("resource", models.CharField(max_length=30, verbose_name="resource")),
                        ("object_id", models.BigIntegerField(verbose_name="object id")),
                        (
                            "deleted_at",
                            models.DateTimeField(
                                db_index=True, default=django.utils.timezone.now, verbose_name="deleted at"
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "deleted record",
                        "verbose_name_plural": "deleted records",
                        "ordering": ["id"],
                        "db_table": "courses_deletedrecord",
                        "indexes": [
                            models.Index(fields=["resource", "deleted_at"], name="deleted_record_resource_at")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_platform, content_types_to_courses),
    ]
