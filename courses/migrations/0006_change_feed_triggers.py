"""Every insert, update and delete of the API's resources here is logged to the change feed by a
database trigger, in the same transaction (pcp_portal.outbox)."""

from django.db import migrations

from pcp_portal import outbox


class Migration(migrations.Migration):
    dependencies = [
        ("pcp_portal", "0002_outbox"),
        ("courses", "0005_course_status_and_cancellation"),
    ]

    operations = [
        outbox.change_triggers(
            {
                "courses_programme": "programmes",
                "courses_project": "projects",
                "courses_course": "courses",
                "courses_session": "sessions",
            }
        ),
    ]
