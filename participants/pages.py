"""The pages that show courses and sessions together with their officials: the landing page, the
dashboard, the course list, a course with its enrolments, a session with its register.

They live here, not in courses/, because what they add to a course is participants' data; the
course and session forms (create, edit, cancel) stay in courses/views.py. Thin: selectors read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses.forms import SeriesRuleForm
from courses.models import Course, Project, Session, series_rule_text
from courses.selectors import next_sessions, series_rule_history, sessions_today
from courses.services import series_rule_set
from participants import certificates, signin
from participants.checkin.selectors import panel_context as checkin_panel_context
from participants.forms import OfficialSearchForm, SeriesFilterForm, WalkInForm, WithdrawForm
from participants.models import AttendanceStatus
from participants.reports import exports
from participants.reports.figures import ReportFilters, definition_items, report_figures
from participants.reports.forms import error_messages
from participants.reports.tables import course_cell_state, series_matrix_table
from participants.search import QUERY_MAX_LENGTH
from participants.search import search as portal_search
from participants.selectors import (
    attendance_history,
    course_enrollments,
    course_sessions,
    courses_with_progress,
    enrollment_history,
    officials_search,
    programme_overview,
    register_for_session,
)
from participants.series import series_matrix
from pcp_portal import roles
from pcp_portal.decorators import editor_required, reader_required


def home(request):
    """Public landing: the programme, its project and course series from the public record."""
    return render(request, "courses/home.html", {"programmes": programme_overview()})


def _with_rates(courses):
    """Attach each course's attendance rate as the reports define it (one definition, one query
    that reads these courses' figures only, or the background snapshot of them); returns the
    courses and when the snapshot was computed (None when live)."""
    courses = list(courses)
    report = report_figures(ReportFilters(course_ids=tuple(course.pk for course in courses)), ("course",))
    by_course = report.groups["course"]
    for course in courses:
        figures = by_course.get((course.pk,))
        course.attendance_rate = figures.attendance_rate if figures else None
        course.attendance_rate_text = figures.attendance_rate_text if figures else None
    return courses, report.as_of


@reader_required
def dashboard(request):
    courses, as_of = _with_rates(courses_with_progress())
    return render(
        request,
        "courses/dashboard.html",
        {
            "programmes": programme_overview(),
            "courses": courses,
            "figures_as_of": as_of,
            "today": sessions_today(),
            "upcoming": next_sessions(),
        },
    )


COURSES_PER_PAGE = 50


@reader_required
def course_list(request):
    # Paged on the server, with the figures of the page's courses only: the same queries for ten
    # courses as for a thousand.
    page = Paginator(courses_with_progress(), COURSES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list, as_of = _with_rates(page.object_list)
    return render(
        request,
        "courses/course_list.html",
        {"courses": page.object_list, "page": page, "figures_as_of": as_of},
    )


def course_page_context(request, course: Course, **extra) -> dict:
    """Everything the course page shows; the enrolment views re-render it with their bound forms."""
    search_form = OfficialSearchForm(request.GET or None)
    query = search_form.cleaned_data["q"] if search_form.is_valid() else ""
    context = {
        "course": course,
        "sessions": course_sessions(course),
        "enrollments": course_enrollments(course),
        "search_form": search_form,
        "query": query,
        "results": officials_search(query, course=course) if query else [],
        "walk_in_form": WalkInForm(course=course),
        "withdraw_form": WithdrawForm(),
    }
    context.update(extra)
    return context


@reader_required
def course_detail(request, pk: int):
    course = get_object_or_404(Course.objects.select_related("project__programme"), pk=pk)
    return render(request, "courses/course_detail.html", course_page_context(request, course))


def session_page_context(session: Session, **extra) -> dict:
    """The session page: its register and the history of its attendance and the course's enrolments."""
    register = register_for_session(session)
    row_errors = extra.pop("row_errors", {})
    for row in register.rows:
        row.error = row_errors.get(row.enrollment.pk, "")
    context = {
        "session": session,
        "register": register,
        "statuses": AttendanceStatus.choices,
        "status_counts": [
            (value, label, register.counts[value]) for value, label in AttendanceStatus.choices
        ],
        "attendance_history": attendance_history(session),
        "enrollment_history": enrollment_history(session.course),
        "register_errors": [],
        **checkin_panel_context(session),
    }
    context.update(extra)
    return context


@reader_required
def session_detail(request, pk: int):
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    return render(request, "courses/session_detail.html", session_page_context(session))


SIGNIN_TEMPLATE_FORMATS = ("csv", "xlsx")


@reader_required
@require_GET
def session_signin_pdf(request, pk: int):
    """The session's pre-filled sign-in sheet to print. The first print gives the enrolled officials
    their row codes (stored, so every later print shows the same ones)."""
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    return exports.pdf_response(
        f"pcp-sign-in-sheet-session-{session.pk}.pdf", signin.sheet_pdf(session, request=request)
    )


@editor_required
@require_GET
def session_signin_template(request, pk: int, fmt: str):
    """The sheet's rows with their codes, to type the statuses from the paper and import them."""
    if fmt not in SIGNIN_TEMPLATE_FORMATS:
        raise Http404(_("There is no such export."))
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    content, content_type, name = signin.sheet_template(session, fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@reader_required
def search(request):
    """The header's search box: results grouped by kind, each a link."""
    text = request.GET.get("q", "")
    results = portal_search(text, user=request.user)
    return render(
        request,
        "participants/search.html",
        {
            "results": results,
            "searched": bool(results.query),
            "max_length": QUERY_MAX_LENGTH,
            "shows_contact": roles.can_edit(request.user),
        },
    )


# --- the series: a project's courses and its officials --------------------------------------------

SERIES_PAGE_SIZE = 50
SERIES_EXPORTS = ("csv", "xlsx")


def _series_filters(request):
    """(form, filters or None when the form has errors)."""
    form = SeriesFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, {
        "ministry_id": data["ministry"].pk if data.get("ministry") else None,
        "sex": data.get("sex") or None,
        "sort": data.get("sort") or "name",
    }


def _series_query(filters: dict, **changes) -> str:
    values = {"ministry": filters["ministry_id"], "sex": filters["sex"], "sort": filters["sort"], **changes}
    values = {key: value for key, value in values.items() if value not in (None, "", "name")}
    return f"?{urlencode(values)}" if values else ""


def series_page_context(request, project: Project, *, rule_form=None) -> tuple[dict, int]:
    """The series page: (context, status). A bad filter shows the page's form with its errors (400)."""
    form, filters = _series_filters(request)
    context = {"project": project, "form": form, "errors": error_messages(form)}
    if filters is None:
        return context, 400
    matrix = series_matrix(
        project, ministry_id=filters["ministry_id"], sex=filters["sex"], sort=filters["sort"]
    )
    page = Paginator(matrix.rows, SERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for row in page.object_list:
        cells = []
        for course in matrix.courses:
            cell = row.status.cells.get(course.pk)
            cells.append((course, cell, course_cell_state(cell, course)))
        rows.append((row, cells))
    sorts = []
    for key, label in (
        ("name", _("Official")),
        ("sex", _("Sex")),
        ("ministry", _("Ministry at first enrolment")),
        ("courses", _("Courses completed")),
        ("series", _("Series")),
    ):
        current = filters["sort"].lstrip("-") == key
        descending = filters["sort"].startswith("-")
        target = f"-{key}" if current and not descending else key
        sorts.append(
            {
                "key": key,
                "label": label,
                "url": _series_query(filters, sort=target, page=None),
                "aria": ("descending" if descending else "ascending") if current else "none",
            }
        )
    query = _series_query(filters)
    context.update(
        matrix=matrix,
        page=page,
        rows=rows,
        sorts=sorts,
        page_prefix=f"{query}&" if query else "?",
        ministries=matrix.ministries,
        exports=[(fmt.upper(), f"{request.path}export.{fmt}{query}") for fmt in SERIES_EXPORTS],
        rule_text=series_rule_text(matrix.rule.min_courses, matrix.rule.courses),
        courses_not_held=[course for course in matrix.courses if not course.is_held],
        rule_form=rule_form or SeriesRuleForm(initial={"min_courses": matrix.rule.min_courses}),
        rule_history=[
            (record, series_rule_text(record.min_courses, matrix.rule.courses))
            for record in series_rule_history(project)
        ],
        definitions=definition_items(),
        series_certificates=certificates.series_certificates_count(project),
    )
    return context, 200


@reader_required
@require_GET
def series_detail(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    context, status = series_page_context(request, project)
    return render(request, "series/series_detail.html", context, status=status)


@reader_required
@require_GET
def series_export(request, pk: int, fmt: str):
    if fmt not in SERIES_EXPORTS:
        raise Http404(_("There is no such export."))
    project = get_object_or_404(Project, pk=pk)
    form, filters = _series_filters(request)
    if filters is None:
        return HttpResponseBadRequest(
            "\n".join(error_messages(form)) + "\n", content_type="text/plain; charset=utf-8"
        )
    table = series_matrix_table(series_matrix(project, **filters))
    name = f"pcp-series-{project.pk}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        return exports.csv_response(name, table.headers, table.rows)
    return exports.xlsx_response(name, table.title, table.columns, table.rows)


@editor_required
@require_POST
def series_certificates_issue(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    issued = certificates.certificates_issue_for_series(project=project, issued_by=request.user)
    if issued:
        messages.success(request, _("%(count)s series certificates issued.") % {"count": len(issued)})
    else:
        messages.info(
            request, _("No new series certificates: everyone who completed the series already has one.")
        )
    return redirect("series_detail", pk=project.pk)


@reader_required
@require_GET
def series_certificates_pdf(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    issued = certificates.certificates_for_series(project)
    if not issued:
        return HttpResponseBadRequest(
            _("No series certificates have been issued yet.") + "\n", content_type="text/plain; charset=utf-8"
        )
    content = certificates.certificates_pdf(issued, request=request)
    return exports.pdf_response(
        f"pcp-certificates-series-{project.pk}-{timezone.localtime():%Y%m%d-%H%M}.pdf", content
    )


@editor_required
@require_POST
def series_rule(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    form = SeriesRuleForm(request.POST)
    if form.is_valid():
        try:
            series_rule_set(
                project=project, min_courses=form.cleaned_data["min_courses"], changed_by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The series completion rule was saved."))
            return redirect("series_detail", pk=project.pk)
    context, _status = series_page_context(request, project, rule_form=form)
    return render(request, "series/series_detail.html", context, status=400)
