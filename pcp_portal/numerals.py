"""Numbers and dates as a person chose to see them: Latin digits (the default) or Khmer ones.

The choice is each user's (UserPreference.digits, set on the preferences page). It is copied into
the session at log-in and when it changes, so a page learns it without a query of its own; the
`digits` context variable carries it to templates, where `{{ value|digits:digits }}` writes the
value's digits in Khmer when the user chose so. Only pages use it: exports, the API and anything a
spreadsheet reads keep Latin digits.

One unambiguous way of writing a moment (`moment_text`: 2026-12-03 08:47, Phnom Penh time) is used
wherever the same moment is drawn by the server and again by a script after a save (the register's
"recorded at"), so the two never differ.
"""

from __future__ import annotations

from django.utils import timezone

from pcp_portal.models import UserPreference

LATIN, KHMER = "latin", "khmer"
SESSION_KEY = "pcp_digits"
TO_KHMER = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")


def khmer_digits(text) -> str:
    """Latin digits written as Khmer ones; every other character kept."""
    return ("" if text is None else str(text)).translate(TO_KHMER)


def in_digits(text, digits: str) -> str:
    return khmer_digits(text) if digits == KHMER else ("" if text is None else str(text))


def moment_text(value) -> str:
    """A moment in local time as YYYY-MM-DD HH:MM (no month names, no day/month order to guess)."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M")


def request_digits(request) -> str:
    """The digits the request's user chose (LATIN when none, or without a session)."""
    session = getattr(request, "session", None)
    return session.get(SESSION_KEY, LATIN) if session is not None else LATIN


def user_digits(user) -> str:
    preference = UserPreference.objects.filter(user=user).values_list("digits", flat=True).first()
    return preference or LATIN


def remember_digits(sender, request, user, **kwargs) -> None:
    """At log-in: the user's choice into the session (user_logged_in's receiver)."""
    request.session[SESSION_KEY] = user_digits(user)
