"""View decorators for the portal's roles (pcp_portal/roles.py).

Anonymous users are sent to the log-in page; a logged-in user without the role gets 403
(partners reach no portal page; unido_officer reads but a forged edit POST is refused).
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from pcp_portal import roles


def _role_required(check):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


reader_required = _role_required(roles.can_read)
"""The page is for mih_staff, unido_officer and superusers."""

editor_required = _role_required(roles.can_edit)
"""The page or POST changes data: mih_staff and superusers only."""
