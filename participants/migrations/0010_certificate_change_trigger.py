"""Issuing a certificate is logged by a database trigger in the same transaction (pcp_portal.outbox),
like the API's resources: the webhook dispatcher turns it into `certificate.issued`."""

from django.db import migrations

from pcp_portal import outbox


class Migration(migrations.Migration):
    dependencies = [
        ("pcp_portal", "0002_outbox"),
        ("participants", "0009_official_reminder_channels"),
    ]

    operations = [outbox.change_triggers({"participants_certificate": "certificates"})]
