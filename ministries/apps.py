"""The ministries app: ministries and bodies, departments, dated names."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MinistriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ministries"
    verbose_name = _("Ministries")
