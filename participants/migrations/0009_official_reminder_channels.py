"""An official's reminder channels (preferred, fallback) and Telegram chat; the channel that
delivered each ledger row."""

from django.db import migrations, models

from pcp_portal import outbox


class Migration(migrations.Migration):

    dependencies = [
        ('pcp_portal', '0002_outbox'),
        ('ministries', '0002_change_feed_triggers'),
        ('participants', '0008_import_batch_background_apply'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalofficial',
            name='reminder_channel',
            field=models.CharField(choices=[('email', 'E-mail'), ('telegram', 'Telegram')], default='email', max_length=10, verbose_name='reminder channel'),
        ),
        migrations.AddField(
            model_name='historicalofficial',
            name='reminder_fallback',
            field=models.CharField(blank=True, choices=[('email', 'E-mail'), ('telegram', 'Telegram')], default='email', help_text='Where a message goes when the first channel cannot take it; empty for none.', max_length=10, verbose_name='fallback channel'),
        ),
        migrations.AddField(
            model_name='historicalofficial',
            name='telegram_chat_id',
            field=models.BigIntegerField(blank=True, db_index=True, null=True, verbose_name='Telegram chat'),
        ),
        migrations.AddField(
            model_name='historicalofficial',
            name='telegram_linked_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='Telegram linked at'),
        ),
        migrations.AddField(
            model_name='official',
            name='reminder_channel',
            field=models.CharField(choices=[('email', 'E-mail'), ('telegram', 'Telegram')], default='email', max_length=10, verbose_name='reminder channel'),
        ),
        migrations.AddField(
            model_name='official',
            name='reminder_fallback',
            field=models.CharField(blank=True, choices=[('email', 'E-mail'), ('telegram', 'Telegram')], default='email', help_text='Where a message goes when the first channel cannot take it; empty for none.', max_length=10, verbose_name='fallback channel'),
        ),
        migrations.AddField(
            model_name='official',
            name='telegram_chat_id',
            field=models.BigIntegerField(blank=True, null=True, unique=True, verbose_name='Telegram chat'),
        ),
        migrations.AddField(
            model_name='official',
            name='telegram_linked_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='Telegram linked at'),
        ),
        migrations.AddField(
            model_name='reminderdelivery',
            name='channel',
            field=models.CharField(blank=True, choices=[('email', 'E-mail'), ('telegram', 'Telegram')], max_length=10, verbose_name='channel'),
        ),
        migrations.AddConstraint(
            model_name='official',
            constraint=models.CheckConstraint(condition=models.Q(('reminder_channel__in', ['email', 'telegram']), ('reminder_fallback__in', ['', 'email', 'telegram'])), name='official_channels_valid'),
        ),
        # SQLite adds a unique column by rebuilding the table, which drops its triggers: the
        # officials' change-feed trigger goes back (a no-op on PostgreSQL, which keeps it).
        outbox.change_triggers({'participants_official': 'officials'}),
    ]
