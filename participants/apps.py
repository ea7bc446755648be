"""The participants app; on start it listens to the course changes it acts on."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from courses.signals import session_changed


class ParticipantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "participants"
    verbose_name = _("Participants")

    def ready(self) -> None:
        # Imported here, not at the top: reminders imports models, which Django only allows once
        # the app registry is ready (the usual place for connecting signals).
        from participants import reminders, rollups

        # courses sends the change; participants queue the change notices (courses stays below).
        session_changed.connect(
            reminders.on_session_changed, dispatch_uid="participants.reminders.session_changed"
        )
        # A session cancelled or brought back changes what the figures' rollups count.
        session_changed.connect(
            rollups.on_session_changed, dispatch_uid="participants.rollups.session_changed"
        )
