"""Template context shared by every page: the user's role flags and the search box's limit."""

from pcp_portal import roles
from pcp_portal.text import SEARCH_MAX_LENGTH


def portal(request):
    user = getattr(request, "user", None)
    return {
        "can_edit": roles.can_edit(user) if user else False,
        "can_read": roles.can_read(user) if user else False,
        "search_max_length": SEARCH_MAX_LENGTH,
    }
