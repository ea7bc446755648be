"""The officials' pages: the list, one official's page, editing, merging two records of one person
and undoing a merge, and the transcript (page, PDF, CSV). Thin: services write, selectors read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from participants.forms import OfficialFilterForm
from participants.selectors import official_page, officials_list
from pcp_portal import roles
from pcp_portal.decorators import reader_required

OFFICIALS_PER_PAGE = 50


@reader_required
def official_list(request):
    form = OfficialFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    officials = officials_list(
        ministry=filters.get("ministry"),
        sex=filters.get("sex", ""),
        course=filters.get("course"),
        order=filters.get("order") or "name",
    )
    page = Paginator(officials, OFFICIALS_PER_PAGE).get_page(request.GET.get("page"))
    # The filters again in each page link, without the page number itself.
    query = urlencode([(key, value) for key, value in request.GET.items() if key != "page" and value])
    return render(
        request,
        "participants/official_list.html",
        {"form": form, "page": page, "query": query, "show_contact": roles.can_edit(request.user)},
    )


@reader_required
def official_detail(request, pk: int):
    page = official_page(pk)
    if page is None:
        raise Http404
    return render(
        request,
        "participants/official_detail.html",
        {"page": page, "official": page.official, "show_contact": roles.can_edit(request.user)},
    )
