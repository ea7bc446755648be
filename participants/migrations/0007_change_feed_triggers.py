"""Every insert, update and delete of the API's resources here is logged to the change feed by a
database trigger, in the same transaction (pcp_portal.outbox)."""

from django.db import migrations

from pcp_portal import outbox


class Migration(migrations.Migration):
    dependencies = [
        ("pcp_portal", "0002_outbox"),
        ("participants", "0006_reminder_delivery_next_attempt_at"),
    ]

    operations = [
        outbox.change_triggers(
            {
                "participants_official": "officials",
                "participants_enrollment": "enrollments",
                "participants_attendance": "attendance",
            }
        ),
    ]
