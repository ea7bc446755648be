"""Report pages, their exports, certificates and the public verification page. Thin: the figures
come from participants.reports.figures through the tables in participants.reports.tables."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses.models import Course
from participants import certificates
from participants.models import ExportJob
from participants.reports import charts, exports, jobs, tables
from participants.reports import figures as fig
from participants.reports.forms import ReportFilterForm, error_messages
from participants.results.framework import all_frameworks
from participants.series import all_series_figures
from pcp_portal import roles
from pcp_portal.decorators import editor_required, reader_required
from pcp_portal.forms import label_in_language, page_language
from pcp_portal.throttling import VerifyRateThrottle

REPORTS = ("programme", "ministries", "sessions", "course", "attendance", "series")


def _filters(request):
    """(form, filters) — filters is None when the form has errors."""
    form = ReportFilterForm(request.GET or None)
    if not request.GET:
        form = ReportFilterForm({})
    if not form.is_valid():
        return form, None
    return form, form.filters()


def filter_labels(form: ReportFilterForm) -> list[str]:
    data = form.cleaned_data
    labels = []
    if data.get("course"):
        labels.append(_("Course: %(value)s") % {"value": label_in_language(data["course"])})
    if data.get("ministry"):
        labels.append(_("Ministry: %(value)s") % {"value": label_in_language(data["ministry"])})
    if data.get("date_from"):
        labels.append(_("From: %(value)s") % {"value": data["date_from"].isoformat()})
    if data.get("date_to"):
        labels.append(_("To: %(value)s") % {"value": data["date_to"].isoformat()})
    return labels or [_("All courses, all ministries, all dates")]


def _page(request, template: str, report: str, build, **extra):
    form, filters = _filters(request)
    context = {"form": form, "report": report, "errors": error_messages(form), **extra}
    if filters is None:
        return render(request, template, context, status=400)
    table = build(filters)
    if isinstance(table, tuple):  # a paged report: the table of the page, and the page
        table, paging = table
        context.update(paging)
    query = filters.as_query()
    context.update(
        table=table,
        filter_labels=filter_labels(form),
        definitions=fig.definition_items(),
        exports=_export_links(report, query, extra.get("course")),
    )
    context.update(_charts(report, table))
    return render(request, template, context)


def _export_links(report: str, query: dict, course=None) -> list[tuple[str, str]]:
    if course is not None:
        query = {**query, "course": str(course.pk)}
    suffix = f"?{urlencode(query)}" if query else ""
    links = [
        (fmt.upper(), reverse("reports:export", args=[report, fmt]) + suffix)
        for fmt in ("csv", "xlsx", "pdf")
    ]
    if report in ("programme", "course"):
        links += [
            (_("Attendance rows (CSV)"), reverse("reports:export", args=["attendance", "csv"]) + suffix),
            (_("Attendance rows (XLSX)"), reverse("reports:export", args=["attendance", "xlsx"]) + suffix),
        ]
    return links


def _charts(report: str, table: tables.Table) -> dict:
    if report == "programme":
        items = [(course.number_label, figures.officials.women_share) for course, figures in _numbered(table)]
        return {
            "charts": [
                charts.bar_chart(
                    "women-share-per-course",
                    _("Share of women per course"),
                    _("Share of women among officials"),
                    items,
                    share=True,
                )
            ]
        }
    if report == "ministries":
        items = [
            (ministry.acronym or tables.ministry_label(ministry), figures.officials.total)
            for ministry, figures, _n in table.extra["groups"]
        ]
        return {
            "charts": [
                charts.bar_chart("officials-per-ministry", _("Officials per ministry"), _("Officials"), items)
            ]
        }
    if report in ("sessions", "course"):
        items = _session_items(report, table)
        return {
            "charts": [
                charts.bar_chart(
                    "attendance-per-session",
                    _("Attendance per session"),
                    _("Attendance rate"),
                    items,
                    share=True,
                )
            ]
        }
    return {"charts": []}


def _numbered(table):
    for course, figures in table.extra["courses"]:
        course.number_label = label_in_language(course)
        yield course, figures


def _session_items(report, table):
    if report == "sessions":
        return [
            (f"{session.starts_at:%Y-%m-%d} {session.title_in(page_language())}", figures.attendance_rate)
            for session, figures in table.extra["sessions"]
        ]
    sessions = table.extra["sessions"]
    matrix = table.extra["matrix"]
    items = []
    for index, session in enumerate(sessions):
        attended = sum(1 for _e, cells, _f, _c in matrix if cells[index] in fig.ATTENDED)
        items.append(
            (
                f"{session.starts_at:%Y-%m-%d} {session.title_in(page_language())}",
                attended / len(matrix) if matrix else None,
            )
        )
    return items


@reader_required
@require_GET
def programme_report(request):
    series = tables.series_completion_table(all_series_figures())
    series_exports = [
        (
            _("Series completion (%(format)s)") % {"format": fmt.upper()},
            reverse("reports:export", args=["series", fmt]),
        )
        for fmt in ("csv", "xlsx", "pdf")
    ]
    return _page(
        request,
        "reports/programme.html",
        "programme",
        tables.programme_table,
        series=series,
        series_exports=series_exports,
        frameworks=all_frameworks(),
    )


@reader_required
@require_GET
def ministry_report(request):
    return _page(request, "reports/ministries.html", "ministries", tables.ministry_table)


@reader_required
@require_GET
def session_report(request):
    def build(filters):
        # Paged on the server: thousands of held sessions are not one page of thousands of rows.
        table, page = tables.session_page(filters, request.GET.get("page"))
        return table, {"page": page, "page_query": urlencode(filters.as_query())}

    return _page(request, "reports/sessions.html", "sessions", build)


@reader_required
@require_GET
def course_report(request, pk: int):
    course = get_object_or_404(Course.objects.select_related("project"), pk=pk)
    contact = roles.can_see_contact_details(request.user)
    response = _page(
        request,
        "reports/course.html",
        "course",
        lambda filters: tables.course_matrix(course, filters, contact=contact),
        course=course,
        hide_course=True,
        can_issue=roles.can_edit(request.user),
        issued=certificates.certificates_for_course(course),
    )
    return response


def _bad_request(lines: list[str]) -> HttpResponseBadRequest:
    return HttpResponseBadRequest("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@reader_required
@require_GET
def export(request, report: str, fmt: str):
    """The report as CSV (streamed), XLSX (here when small, else by a worker: see jobs) or PDF
    (refused above the page limit, with links to the same selection as CSV and XLSX)."""
    if report not in REPORTS or fmt not in exports.FORMATS:
        raise Http404(_("There is no such export."))
    form, filters = _filters(request)
    if filters is None:
        return _bad_request(error_messages(form))
    contact = request.GET.get("contact") == "1"
    if contact and not roles.can_see_contact_details(request.user):
        raise PermissionDenied(_("Your role may not export contact details."))
    try:
        name = exports.file_name(report, fmt, filters, requested=request.GET.get("name"))
    except exports.BadFileName as error:
        return _bad_request([str(error)])
    if report == "attendance":
        return _attendance_export(request, fmt, name, filters, contact=contact)
    if report == "course" and filters.course_id is None:
        return _bad_request([_("Choose a course for the course export (course=<id>).")])
    table = jobs.table_for(report, filters, course=form.cleaned_data.get("course"), contact=contact)
    rows = table.all_rows()
    if fmt == "csv":
        return exports.csv_response(name, table.headers, rows)
    if fmt == "xlsx":
        if len(rows) > settings.PCP_EXPORT_BACKGROUND_ROWS:
            return _in_background(request, report, fmt, name, filters, contact=contact, rows=len(rows))
        return exports.xlsx_response(name, table.title, table.columns, rows)
    if len(rows) > jobs.pdf_max_rows():
        return _pdf_too_long(request, report, len(rows))
    return exports.pdf_response(name, exports.table_pdf(table, filters, filter_labels=filter_labels(form)))


def _attendance_export(request, fmt: str, name: str, filters, *, contact: bool):
    columns = tables.attendance_columns(contact=contact)
    if fmt == "pdf":
        return _pdf_too_long(request, "attendance", None)
    if fmt == "xlsx":
        count = jobs.attendance_count(filters)
        if count > settings.PCP_EXPORT_BACKGROUND_ROWS:
            return _in_background(request, "attendance", fmt, name, filters, contact=contact, rows=count)
        return exports.xlsx_response(
            name, _("Attendance"), columns, tables.attendance_rows(filters, contact=contact)
        )
    if connection.vendor == "postgresql":
        response = StreamingHttpResponse(
            exports.copy_csv_chunks(filters, contact=contact), content_type=exports.FORMATS["csv"]
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return exports.csv_response(
        name, [column.label for column in columns], tables.attendance_rows(filters, contact=contact)
    )


def _in_background(request, report: str, fmt: str, name: str, filters, *, contact: bool, rows: int):
    """Too large to build in the request: queue a job and show the exports page, which follows it."""
    job = jobs.export_start(
        user=request.user,
        report=report,
        fmt=fmt,
        query=filters.as_query(),
        contact=contact,
        file_name=name,
        rows=rows,
    )
    messages.info(
        request,
        _(
            "%(name)s (%(rows)s rows) is being written in the background. It appears below when it is "
            "ready; you can leave this page and come back."
        )
        % {"name": job.file_name, "rows": f"{rows:,}"},
    )
    return redirect(f"{reverse('reports:exports')}#export-{job.pk}")


def _pdf_too_long(request, report: str, rows: int | None):
    """A PDF over the page limit is refused at once (not after a minute of layout), with the
    same selection offered as XLSX and CSV."""
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    links = [(fmt.upper(), reverse("reports:export", args=[report, fmt]) + query) for fmt in ("xlsx", "csv")]
    pages = math.ceil(rows / jobs.PDF_ROWS_PER_PAGE) if rows is not None else None
    return render(
        request,
        "reports/pdf_too_long.html",
        {"links": links, "pages": pages, "rows": rows, "max_pages": settings.PCP_PDF_MAX_PAGES},
        status=400,
    )


# --- exports written by a worker -----------------------------------------------------------------

EXPORTS_LISTED = 50


@reader_required
@require_GET
def export_list(request):
    """The person's exports, newest first: progress while a worker writes, then the download."""
    listed = ExportJob.objects.filter(user=request.user)[:EXPORTS_LISTED]
    return render(
        request,
        "reports/exports.html",
        {
            "jobs": [(job, jobs.snapshot(job)) for job in listed],
            "working": any(job.is_working for job in listed),
            "keep_hours": settings.PCP_EXPORT_KEEP_HOURS,
        },
    )


def _job_or_404(request, pk: int) -> ExportJob:
    job = get_object_or_404(ExportJob, pk=pk)
    if not jobs.may_download(request.user, job):
        raise Http404(_("There is no such export."))  # another person's export is not shown to exist
    return job


@reader_required
@require_GET
def export_progress(request, pk: int):
    """The progress bar's figures as JSON, read by static/js/exports.js every second or two."""
    return JsonResponse(jobs.snapshot(_job_or_404(request, pk)))


@reader_required
@require_GET
def export_download(request, pk: int, name: str):
    job = _job_or_404(request, pk)
    path = jobs.file_path(job)
    if path is None or name != job.file_name:
        raise Http404(_("This export is not ready, or no longer kept. Start it again from the report."))
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=job.file_name, content_type=exports.FORMATS[job.format]
    )


# --- certificates -------------------------------------------------------------------------------


@editor_required
@require_POST
def certificates_issue(request, pk: int):
    course = get_object_or_404(Course, pk=pk)
    issued = certificates.certificates_issue_for_course(course=course, issued_by=request.user)
    if issued:
        messages.success(request, _("%(count)s certificates issued.") % {"count": len(issued)})
    else:
        messages.info(request, _("No new certificates: everyone who completed already has one."))
    return redirect("reports:course", pk=course.pk)


@reader_required
@require_GET
def certificates_pdf(request, pk: int):
    course = get_object_or_404(Course, pk=pk)
    issued = certificates.certificates_for_course(course)
    if not issued:
        return _bad_request([_("No certificates have been issued for this course yet.")])
    content = certificates.certificates_pdf(issued, request=request)
    name = f"pcp-certificates-course-{course.pk}-{exports.timezone.localtime():%Y%m%d-%H%M}.pdf"
    return exports.pdf_response(name, content)


@reader_required
@require_GET
def certificate_pdf(request, code: str):
    certificate = certificates.certificate_lookup(code)
    if certificate is None:
        raise Http404(_("There is no certificate with this code."))
    content = certificates.certificates_pdf([certificate], request=request)
    return exports.pdf_response(f"pcp-certificate-{certificate.code}.pdf", content)


@require_GET
def verify(request, code: str | None = None):
    """Public: says whether a code is genuine (and still valid), for whom and which course — nothing more."""
    code = code or request.GET.get("code", "")
    throttle = VerifyRateThrottle()
    if code and not throttle.allow_request(request, None):
        response = render(
            request,
            "certificates/verify.html",
            {"code": code[: certificates.TYPED_CODE_MAX_LENGTH], "checked": False, "limited": True},
            status=429,
        )
        response["Retry-After"] = str(max(1, math.ceil(throttle.wait() or 1)))
        return response
    certificate = certificates.certificate_lookup(code) if code else None
    valid = certificates.certificate_still_valid(certificate) if certificate else False
    status = 200 if certificate or not code else 404
    return render(
        request,
        "certificates/verify.html",
        {
            "code": code[: certificates.TYPED_CODE_MAX_LENGTH],
            "certificate": certificate,
            "valid": valid,
            "checked": bool(code),
        },
        status=status,
    )
