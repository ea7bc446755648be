"""Template context shared by every page: the user's role flags."""

from pcp_portal import roles


def portal(request):
    user = getattr(request, "user", None)
    return {
        "can_edit": roles.can_edit(user) if user else False,
        "can_read": roles.can_read(user) if user else False,
    }
