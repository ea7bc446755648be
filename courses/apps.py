"""The courses app; on start it records the client address on every history row."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "courses"
    verbose_name = _("Courses")

    def ready(self) -> None:
        # Imported here: pcp_portal.db defines model bases, which Django only allows once the app
        # registry is ready (ready() is the usual place for connecting signals).
        from simple_history.signals import pre_create_historical_record

        from pcp_portal.db import record_history_ip_address

        pre_create_historical_record.connect(record_history_ip_address, dispatch_uid="history_ip_address")
