"""Create an API key for a named partner system and print it once, on the last line."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pcp_portal.models import APIAccessKey


class Command(BaseCommand):
    help = "Create an API key for a named system; the key is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The system the key is for, e.g. 'UNIDO project monitoring'.")
        parser.add_argument("--role", choices=APIAccessKey.Role.values, default=APIAccessKey.Role.PARTNER)
        parser.add_argument("--expires-in-days", type=int, default=None, help="Days until the key expires.")

    def handle(self, *args, name, role, expires_in_days, **options):
        name = name.strip()
        longest = APIAccessKey._meta.get_field("name").max_length
        if not name or len(name) > longest:
            raise CommandError(f"Give the system a name of 1 to {longest} characters.")
        expiry = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be at least 1.")
            expiry = timezone.now() + datetime.timedelta(days=expires_in_days)
        api_key, key = APIAccessKey.objects.create_key(name=name, role=role, expiry_date=expiry)
        until = f"until {expiry:%Y-%m-%d %H:%M %Z}" if expiry else "without expiry"
        self.stdout.write(
            f"API key {api_key.prefix} for '{name}', role {role}, valid {until}. "
            "Store it now: it cannot be shown again (revoke it in the admin under API keys)."
        )
        self.stdout.write(key)
