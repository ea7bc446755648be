"""Certificates of a series as well as of a course: the enrolment becomes optional, a series
certificate names its series and official, and a constraint keeps each certificate one or the other.

SQLite rebuilds the table to change its columns, dropping the trigger that logs issued
certificates for the `certificate.issued` webhook: it is put back after (and, reversed, before)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from pcp_portal import outbox

CERTIFICATE_TRIGGERS = {"participants_certificate": "certificates"}


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0010_merge_results_framework_and_calendar'),
        ('participants', '0013_merge_import_progress'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        outbox.change_triggers_kept(CERTIFICATE_TRIGGERS),
        migrations.AddField(
            model_name='certificate',
            name='official',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='series_certificates', to='participants.official', verbose_name='official'),
        ),
        migrations.AddField(
            model_name='certificate',
            name='series',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='series_certificates', to='courses.project', verbose_name='series'),
        ),
        migrations.AlterField(
            model_name='certificate',
            name='enrollment',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='certificate', to='participants.enrollment', verbose_name='enrolment'),
        ),
        migrations.AddConstraint(
            model_name='certificate',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('enrollment__isnull', False), ('official__isnull', True), ('series__isnull', True)), models.Q(('enrollment__isnull', True), ('official__isnull', False), ('series__isnull', False)), _connector='OR'), name='certificate_of_a_course_or_a_series'),
        ),
        migrations.AddConstraint(
            model_name='certificate',
            constraint=models.UniqueConstraint(fields=('official', 'series'), name='certificate_unique_official_series'),
        ),
        outbox.change_triggers_kept(CERTIFICATE_TRIGGERS),
    ]
