"""The pages that show courses and sessions together with their officials: the landing page, the
dashboard, the course list, a course with its enrolments, a session with its register.

They live here, not in courses/, because what they add to a course is participants' data; the
course and session forms (create, edit, cancel) stay in courses/views.py. Thin: selectors read."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from courses.models import Course, Session
from courses.selectors import next_sessions, sessions_today
from participants.forms import OfficialSearchForm, WalkInForm, WithdrawForm
from participants.models import AttendanceStatus
from participants.reports.figures import ReportFilters, grouped_figures
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
from pcp_portal import roles
from pcp_portal.decorators import reader_required


def home(request):
    """Public landing: the programme, its project and course series from the public record."""
    return render(request, "courses/home.html", {"programmes": programme_overview()})


def _with_rates(courses):
    """Attach each course's attendance rate as the reports define it (one definition, one query)."""
    by_course = grouped_figures(ReportFilters(), "course")
    courses = list(courses)
    for course in courses:
        figures = by_course.get((course.pk,))
        course.attendance_rate = figures.attendance_rate if figures else None
        course.attendance_rate_text = figures.attendance_rate_text if figures else None
    return courses


@reader_required
def dashboard(request):
    return render(
        request,
        "courses/dashboard.html",
        {
            "programmes": programme_overview(),
            "courses": _with_rates(courses_with_progress()),
            "today": sessions_today(),
            "upcoming": next_sessions(),
        },
    )


@reader_required
def course_list(request):
    return render(request, "courses/course_list.html", {"courses": _with_rates(courses_with_progress())})


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
    }
    context.update(extra)
    return context


@reader_required
def session_detail(request, pk: int):
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    return render(request, "courses/session_detail.html", session_page_context(session))


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
