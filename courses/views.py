"""HTML pages for the programme, its courses and their sessions. Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from courses import services
from courses.forms import CourseCancelForm, CourseForm, SessionCancelForm, SessionForm
from courses.models import Course, Session
from courses.selectors import (
    course_sessions,
    courses_with_progress,
    next_sessions,
    programme_overview,
    sessions_not_started,
    sessions_today,
)
from participants.forms import OfficialSearchForm, WalkInForm, WithdrawForm
from participants.models import AttendanceStatus
from participants.selectors import (
    attendance_history,
    course_enrollments,
    enrollment_history,
    officials_search,
    register_for_session,
)
from pcp_portal.decorators import editor_required, reader_required


def home(request):
    """Public landing: the programme, its project and course series from the public record."""
    return render(request, "courses/home.html", {"programmes": programme_overview()})


def _with_rates(courses):
    """Attach each course's attendance rate as the reports define it (one definition, one query)."""
    from courses.reports.figures import ReportFilters, grouped_figures

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


@editor_required
def course_create(request):
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_create(changed_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The course was created."))
            return redirect("course_detail", pk=course.pk)
    return render(request, "courses/course_form.html", {"form": form})


@editor_required
def course_edit(request, pk: int):
    course = get_object_or_404(Course, pk=pk)
    form = CourseForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        try:
            services.course_update(
                course=Course.objects.get(pk=pk), changed_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The course was saved."))
            return redirect("course_detail", pk=pk)
    return render(request, "courses/course_form.html", {"form": form, "course": course})


@editor_required
def course_cancel(request, pk: int):
    """Confirm with a reason; the service cancels the course and its sessions not yet started."""
    course = get_object_or_404(Course.objects.select_related("project"), pk=pk)
    if request.method == "POST" and course.is_cancelled:
        messages.info(request, _("This course is already cancelled."))
        return redirect("course_detail", pk=pk)
    form = CourseCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.course_cancel(course=course, reason=form.cleaned_data["reason"], changed_by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The course was cancelled, with its sessions not yet held."))
            return redirect("course_detail", pk=pk)
    return render(
        request,
        "courses/course_cancel.html",
        {"form": form, "course": course, "to_cancel": list(sessions_not_started(course))},
    )


@editor_required
def session_create(request, course_pk: int):
    course = get_object_or_404(Course, pk=course_pk)
    form = SessionForm(request.POST or None, instance=Session(course=course))
    if request.method == "POST" and form.is_valid():
        try:
            session = services.session_create(course=course, changed_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The session was created."))
            return redirect("session_detail", pk=session.pk)
    return render(request, "courses/session_form.html", {"form": form, "course": course})


@editor_required
def session_edit(request, pk: int):
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    form = SessionForm(request.POST or None, instance=session)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_update(
                session=Session.objects.get(pk=pk), changed_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The session was saved."))
            return redirect("session_detail", pk=pk)
    return render(
        request, "courses/session_form.html", {"form": form, "course": session.course, "session": session}
    )


@editor_required
def session_cancel(request, pk: int):
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    form = SessionCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.session_cancel(session=session, reason=form.cleaned_data["reason"], changed_by=request.user)
        messages.success(request, _("The session was cancelled."))
        return redirect("session_detail", pk=pk)
    return render(request, "courses/session_cancel.html", {"form": form, "session": session})


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
