"""The portal's roles, as Django groups created by a migration, and the checks views use.

mih_staff edits courses, sessions, officials, enrolments and attendance; unido_officer reads
everything and pulls reports; partner reads the API without personal contact data.
The superuser administers and may do everything.
"""

from __future__ import annotations

MIH_STAFF = "mih_staff"
UNIDO_OFFICER = "unido_officer"
PARTNER = "partner"
ROLES = (MIH_STAFF, UNIDO_OFFICER, PARTNER)


def user_roles(user) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_pcp_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._pcp_roles = cached
    return cached


def can_edit(user) -> bool:
    """May change courses, sessions, officials, enrolments and attendance."""
    return bool(getattr(user, "is_superuser", False) and user.is_active) or MIH_STAFF in user_roles(user)


def can_read(user) -> bool:
    """May read the portal's pages (partners use the API only)."""
    return can_edit(user) or UNIDO_OFFICER in user_roles(user)


def can_see_contact_details(user) -> bool:
    """Officials' e-mail and phone: never for partners."""
    return can_read(user)
