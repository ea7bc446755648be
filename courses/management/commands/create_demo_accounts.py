"""Create one demo account per role for local use, with random passwords kept under var/."""

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from pcp_portal import roles

ACCOUNTS = [
    ("admin", None, "superuser"),
    ("mih.staff", roles.MIH_STAFF, "MIH staff: logs sessions and attendance"),
    ("unido.officer", roles.UNIDO_OFFICER, "UNIDO officer: reads everything, reports"),
    ("partner", roles.PARTNER, "partner system: API only"),
]


class Command(BaseCommand):
    help = "Create (once) one demo account per role and print the log-ins. For local use only."

    def handle(self, *args, **options):
        store = settings.VAR_DIR / "demo-accounts.json"
        known = json.loads(store.read_text()) if store.exists() else {}
        User = get_user_model()
        for username, group, _description in ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is None or username not in known:
                password = secrets.token_urlsafe(9)
                user = user or User(username=username, email=f"{username}@demo.pcp-portal.invalid")
                user.set_password(password)
                user.is_superuser = user.is_staff = group is None
                user.save()
                if group:
                    user.groups.add(Group.objects.get(name=group))
                known[username] = password
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(known, indent=1))
        store.chmod(0o600)
        self.stdout.write("Demo log-ins (local use only; kept in var/demo-accounts.json):")
        for username, _group, description in ACCOUNTS:
            self.stdout.write(f"  {username:<14} {known[username]:<14} {description}")
