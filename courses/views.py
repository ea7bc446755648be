"""The forms that create, edit and cancel courses and sessions. Thin: services write.

The pages that show a course or session with its officials are participants/pages.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from courses import services
from courses.forms import CourseCancelForm, CourseForm, SessionCancelForm, SessionForm
from courses.models import Course, Session
from courses.selectors import sessions_not_started
from pcp_portal.decorators import editor_required


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
