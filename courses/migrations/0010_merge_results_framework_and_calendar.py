# The results framework and the series rule with the calendar, two branches of courses, joined.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0008_results_framework'),
        ('courses', '0009_session_sequence_calendar_feed_token'),
    ]

    operations = [
    ]
