"""The project's own app: wires log-in auditing, session ending, the admin's second factor and the
database connection's setup."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "pcp_portal"
    verbose_name = "PCP Portal"

    def ready(self):
        from django.conf import settings
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in
        from django.db.backends.signals import connection_created

        # Imported here: audit and db read models, which Django only allows once the registry is ready;
        # importing checks registers the production settings check.
        from pcp_portal import audit, checks  # noqa: F401
        from pcp_portal.db import use_sqlite_variable_limit
        from pcp_portal.numerals import remember_digits

        audit.connect_signals()
        user_logged_in.connect(remember_digits, dispatch_uid="pcp_remember_digits")
        connection_created.connect(use_sqlite_variable_limit, dispatch_uid="pcp_sqlite_variable_limit")
        if settings.OTP_REQUIRED_FOR_ADMIN:
            from django_otp.admin import OTPAdminSite

            # django-otp's documented switch: the admin then needs a verified second factor.
            admin.site.__class__ = OTPAdminSite
