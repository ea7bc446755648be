"""The officials' pages: the list, one official's page, editing, merging two records of one person
and undoing a merge, and the transcript (page, PDF, CSV). Thin: services write, selectors read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from participants import merging, services
from participants.forms import (
    MergeForm,
    MergePickForm,
    OfficialEditForm,
    OfficialFilterForm,
    OfficialSearchForm,
)
from participants.models import Official, OfficialMerge
from participants.selectors import official_page, officials_list, officials_search
from participants.transcripts import Transcript, official_transcript, transcript_csv, transcript_pdf
from pcp_portal import roles
from pcp_portal.decorators import editor_required, reader_required

OFFICIALS_PER_PAGE = 50


@reader_required
def official_list(request):
    form = OfficialFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    officials = officials_list(
        ministry=filters.get("ministry"),
        sex=filters.get("sex", ""),
        course=filters.get("course"),
        series=filters.get("series"),
        series_status=filters.get("series_status", ""),
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


@editor_required
def official_edit(request, pk: int):
    official = get_object_or_404(Official.objects.select_related("ministry", "department"), pk=pk)
    form = OfficialEditForm(request.POST if request.method == "POST" else None, instance=official)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.official_update(
                    official=Official.objects.get(pk=pk),
                    changed_by=request.user,
                    **{name: form.cleaned_data[name] for name in OfficialEditForm.Meta.fields},
                )
            except (ValidationError, Official.DoesNotExist) as error:
                form.add_error(
                    None,
                    error if isinstance(error, ValidationError) else _("This official no longer exists."),
                )
            else:
                messages.success(
                    request, _("The changes to %(official)s were saved.") % {"official": official}
                )
                return redirect("official_detail", pk=pk)
        status = 400
    return render(
        request, "participants/official_form.html", {"form": form, "official": official}, status=status
    )


@editor_required
def official_merge(request):
    """GET: pick two officials, then compare them; POST: merge as chosen."""
    data = request.POST if request.method == "POST" else request.GET
    # Bound once both are named (or on a POST): with only the survivor chosen, the page asks for the other.
    bound = request.method == "POST" or (data.get("survivor") and data.get("other"))
    pick = MergePickForm(data if bound else None)
    context = {"pick": pick}
    if not pick.is_valid():
        search = OfficialSearchForm(request.GET or None)
        query = search.cleaned_data["q"] if search.is_valid() else ""
        context.update(search_form=search, query=query, results=officials_search(query) if query else [])
        context["survivor_id"] = data.get("survivor", "") if str(data.get("survivor", "")).isdigit() else ""
        return render(
            request,
            "participants/official_merge_pick.html",
            context,
            status=400 if pick.is_bound else 200,
        )
    survivor_id, other_id = pick.cleaned_data["survivor"], pick.cleaned_data["other"]
    try:
        comparison = merging.merge_comparison(survivor_id, other_id)
    except merging.MergeRefused as refusal:
        context.update(search_form=OfficialSearchForm(), refusal=refusal.messages)
        return render(request, "participants/official_merge_pick.html", context, status=400)
    form = MergeForm(request.POST if request.method == "POST" else None, comparison=comparison)
    context.update(comparison=comparison, form=form)
    if request.method != "POST":
        return render(request, "participants/official_merge.html", context)
    if form.is_valid():
        try:
            merge = merging.official_merge(
                survivor_id=survivor_id,
                other_id=other_id,
                choices=form.choices(),
                keep=form.keep(),
                merged_by=request.user,
            )
        except ValidationError as refusal:
            context["refusal"] = refusal.messages
        else:
            messages.success(
                request,
                _("%(other)s was merged into %(survivor)s. You can undo this below while nothing changes.")
                % {"other": merge.merged_name, "survivor": merge.survivor},
            )
            return redirect("official_detail", pk=survivor_id)
    return render(request, "participants/official_merge.html", context, status=400)


@require_POST
@editor_required
def official_merge_undo(request, pk: int):
    merge = get_object_or_404(OfficialMerge, pk=pk)
    try:
        merging.official_merge_undo(merge_id=pk, undone_by=request.user)
    except merging.MergeRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The merge was undone: %(official)s is a record of its own again.")
            % {"official": merge.merged_name},
        )
    return redirect("official_detail", pk=merge.survivor_id)


def _transcript_or_404(pk: int) -> Transcript:
    transcript = official_transcript(pk)
    if transcript is None:
        raise Http404
    return transcript


@reader_required
def official_transcript_page(request, pk: int):
    return render(request, "participants/transcript.html", {"transcript": _transcript_or_404(pk)})


@reader_required
def official_transcript_csv(request, pk: int):
    transcript = _transcript_or_404(pk)
    response = HttpResponse(transcript_csv(transcript), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transcript-{pk}.csv"'
    return response


@reader_required
def official_transcript_pdf(request, pk: int):
    transcript = _transcript_or_404(pk)
    response = HttpResponse(transcript_pdf(transcript), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="transcript-{pk}.pdf"'
    return response
