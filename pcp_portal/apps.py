"""The project's own app: wires log-in auditing, session ending and the admin's second factor."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "pcp_portal"
    verbose_name = "PCP Portal"

    def ready(self):
        from django.conf import settings
        from django.contrib import admin

        # Imported here: audit reads models, which Django only allows once the registry is ready;
        # importing checks registers the production settings check.
        from pcp_portal import audit, checks  # noqa: F401

        audit.connect_signals()
        if settings.OTP_REQUIRED_FOR_ADMIN:
            from django_otp.admin import OTPAdminSite

            # django-otp's documented switch: the admin then needs a verified second factor.
            admin.site.__class__ = OTPAdminSite
