"""View decorators for the portal's roles (pcp_portal/roles.py).

Anonymous users are sent to the log-in page; a logged-in user without the role gets 403
(partners reach no portal page; unido_officer reads but a forged edit POST is refused).
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils.translation import gettext as _

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


def editor_required_json(view):
    """editor_required for the endpoints a page's script calls: the refusal as JSON the script can
    show ({"ok": false, "code": ..., "message": ...}) instead of a log-in page or an HTML 403.

    A register mark may be sent hours after it was made, from a queue kept in the browser: by
    then the session may have ended (401, "logged_out": the mark waits for the next log-in) or
    the editor role may have been taken away (403, "role_removed": the mark is refused).
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse(
                {
                    "ok": False,
                    "code": "logged_out",
                    "message": _("You are logged out. Log in again to send this change."),
                },
                status=401,
            )
        if not roles.can_edit(request.user):
            return JsonResponse(
                {
                    "ok": False,
                    "code": "role_removed",
                    "message": _(
                        "Not saved: your account may no longer record attendance "
                        "(it has no editor role). Ask an administrator."
                    ),
                },
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped
