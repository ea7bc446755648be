"""Template context shared by every page: the user's role flags, the search box's limit and the
digits the user chose for numbers and dates (pcp_portal.numerals)."""

from pcp_portal import roles
from pcp_portal.numerals import request_digits
from pcp_portal.text import SEARCH_MAX_LENGTH


def portal(request):
    user = getattr(request, "user", None)
    return {
        "can_edit": roles.can_edit(user) if user else False,
        "can_read": roles.can_read(user) if user else False,
        "search_max_length": SEARCH_MAX_LENGTH,
        "digits": request_digits(request),
    }
