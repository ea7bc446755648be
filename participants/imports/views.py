"""Upload, preview, confirm and history pages of the imports (mih_staff and superusers only)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from participants.imports import files, progress
from participants.imports.apply import ImportRefused, queue_apply
from participants.imports.columns import SPECS
from participants.imports.forms import ImportUploadForm
from participants.imports.plan import (
    ACTIONS,
    DECIDE,
    ERROR,
    plan_chunks,
    queue_preview,
)
from participants.imports.reading import ImportFileError, max_bytes, too_large
from participants.models import Enrollment, ImportBatch, ImportRow, Official
from pcp_portal.decorators import editor_required
from pcp_portal.disk import handles_refused_upload, refused_upload

HISTORY_LENGTH = 100
PREVIEW_ROWS_SHOWN = 1000


def _spec_or_404(kind: str):
    if kind not in SPECS:
        raise Http404
    return SPECS[kind]


@editor_required
def import_home(request):
    batches = ImportBatch.objects.select_related("uploaded_by", "course", "session").defer("upload")[
        :HISTORY_LENGTH
    ]
    return render(request, "imports/home.html", {"specs": SPECS.values(), "batches": batches})


@editor_required
def template_download(request, kind: str, language: str, file_format: str):
    _spec_or_404(kind)
    if language not in ("en", "km") or file_format not in ("csv", "xlsx"):
        raise Http404
    content, content_type, name = files.template_file(kind, language, file_format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@handles_refused_upload
@editor_required
def import_upload(request, kind: str):
    spec = _spec_or_404(kind)
    initial = {key: request.GET[key] for key in ("course", "session") if request.GET.get(key, "").isdigit()}
    form = ImportUploadForm(request.POST or None, request.FILES or None, kind=kind, initial=initial)
    status = 400 if request.method == "POST" else 200
    file_error = refused_upload(request)
    if file_error:
        # The server had no room for the file: say so where the file goes, and keep the choices made.
        form = ImportUploadForm(request.POST, {}, kind=kind, initial=initial)
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", file_error)
        file_error = None
        status = 507
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > max_bytes():
            file_error = too_large(upload.size).message
        else:
            # Read and planned by a worker, whatever the size: the page follows its progress. Only
            # the checks that need no parsing (type, size, password) run here, so such a file is
            # refused at once rather than queued.
            try:
                batch = queue_preview(
                    kind=kind,
                    filename=upload.name,
                    data=upload.read(),
                    user=request.user,
                    course=form.cleaned_data.get("course"),
                    session=form.cleaned_data.get("session"),
                )
            except ImportFileError as error:
                file_error = error.message
            else:
                return redirect("import_batch", batch.pk)
    return render(
        request,
        "imports/upload.html",
        {"spec": spec, "form": form, "file_error": file_error, "max_mb": max_bytes() / 1024 / 1024},
        status=status,
    )


def _row_count(batch: ImportBatch) -> int:
    return sum(batch.counts.get(action, 0) for action in ACTIONS)


def _batch_context(batch: ImportBatch, decisions=None) -> dict:
    decisions = decisions or {}
    # Changed fields by their name in the reader's language, never the stored key.
    labels = {f.name: str(f.verbose_name) for f in Official._meta.fields}
    # Every row to decide or in error is listed; of the others, the first PREVIEW_ROWS_SHOWN (a
    # 50,000-row file would make a page of tens of megabytes).
    # From the plan's table: the rows to see (a batch of rows a query), then the first others;
    # none while a worker is still writing the plan.
    listed = []
    if batch.status not in (ImportBatch.Status.QUEUED, ImportBatch.Status.PREVIEWING):
        listed = [pair for chunk in plan_chunks(batch.pk, actions=(ERROR, DECIDE)) for pair in chunk]
        listed += (
            ImportRow.objects.filter(batch=batch)
            .exclude(action__in=(ERROR, DECIDE))
            .order_by("index")
            .values_list("index", "plan")[:PREVIEW_ROWS_SHOWN]
        )
    row_count = _row_count(batch)
    hidden = row_count - len(listed)
    rows = []
    for index, row in sorted(listed, key=lambda pair: pair[0]):
        rows.append(
            {
                **row,
                "index": index,
                "chosen": decisions.get(index, ""),
                "changes": {
                    labels.get(key, key): change for key, change in (row.get("changes") or {}).items()
                },
            }
        )
    # The same file applied before (same SHA-256): linked, so nobody imports it twice unawares.
    earlier = (
        ImportBatch.objects.filter(
            checksum=batch.checksum, kind=batch.kind, status=ImportBatch.Status.APPLIED
        )
        .exclude(pk=batch.pk)
        .order_by("-applied_at")
        .first()
    )
    enrolled = []
    if batch.status == ImportBatch.Status.APPLIED and batch.kind == "enrolments":
        enrolled = (
            Enrollment.objects.filter(course_id=batch.course_id, status=Enrollment.Status.ENROLLED)
            .select_related("official", "ministry")
            .order_by("official__family_name", "official__given_name")
        )
    # What the worker wrote, said once it is done (the confirmation only queued it).
    applied_summary = ""
    if batch.status == ImportBatch.Status.APPLIED:
        applied = batch.counts.get("applied", {})
        applied_summary = _("Imported: %(created)s created, %(updated)s updated, %(skipped)s unchanged.") % {
            "created": applied.get("created", 0),
            "updated": applied.get("updated", 0),
            "skipped": applied.get("skipped", 0),
        }
    return {
        "applied_summary": applied_summary,
        "batch": batch,
        "spec": SPECS[batch.kind],
        "rows": rows,
        "counts": batch.counts,
        "has_errors": bool(batch.counts.get("error")),
        "enrolled": enrolled,
        "earlier": earlier,
        "hidden_rows": hidden,
        "row_count": row_count,
        "state": progress.snapshot(batch),
    }


@editor_required
def batch_detail(request, pk: int):
    batch = get_object_or_404(
        ImportBatch.objects.select_related("uploaded_by", "applied_by", "course", "session"), pk=pk
    )
    return render(request, "imports/batch.html", _batch_context(batch))


@editor_required
def batch_progress(request, pk: int):
    """The progress bar's figures as JSON, read by static/js/imports.js every second or two."""
    batch = get_object_or_404(ImportBatch.objects.defer("upload"), pk=pk)
    return JsonResponse(progress.snapshot(batch))


@require_POST
@editor_required
def batch_confirm(request, pk: int):
    batch = get_object_or_404(ImportBatch, pk=pk)
    decisions = {}
    for key, value in request.POST.items():
        if key.startswith("decide-") and key[7:].isdigit():
            decisions[int(key[7:])] = value
    # Applied by a worker, whatever the size (5,000 rows applied in the request outlasted the web
    # server's timeout): the request only checks the plan can be applied and queues it.
    try:
        batch = queue_apply(batch=batch, user=request.user, decisions=decisions)
    except ImportRefused as refusal:
        batch.refresh_from_db()
        context = _batch_context(batch, decisions)
        context["refusal"] = refusal.message
        return render(request, "imports/batch.html", context, status=400)
    if batch.status == ImportBatch.Status.APPLYING:
        messages.info(
            request,
            _(
                "The import is being applied in the background. This page shows when it is done; you "
                "can leave it and come back."
            ),
        )
    return redirect("import_batch", batch.pk)


@require_POST
@editor_required
def batch_discard(request, pk: int):
    updated = ImportBatch.objects.filter(pk=pk, status=ImportBatch.Status.PREVIEWED).update(
        status=ImportBatch.Status.DISCARDED
    )
    if updated:
        messages.success(request, _("The import was discarded; nothing was changed."))
    return redirect("import_home")


@editor_required
def batch_errors(request, pk: int):
    batch = get_object_or_404(ImportBatch, pk=pk)
    response = HttpResponse(files.error_report(batch), content_type=files.CSV)
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    return response
