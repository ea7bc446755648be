"""Create the three role groups. Permissions are checked in code (pcp_portal.roles), not through
per-model permissions, so the groups carry none; the superuser administers."""

from django.db import migrations

ROLES = ("mih_staff", "unido_officer", "partner")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("courses", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
