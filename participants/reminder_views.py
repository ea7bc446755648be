"""Reminder pages: staff send failed reminders again; an official opts out through a signed link."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from courses.models import Course, Session
from participants import reminders
from participants.models import ReminderDelivery
from pcp_portal.decorators import editor_required


@editor_required
@require_POST
def resend(request, pk: int):
    delivery = get_object_or_404(ReminderDelivery, pk=pk)
    try:
        reminders.resend(delivery=delivery, changed_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The reminder to %(name)s will be sent again.") % {"name": delivery.official}
        )
    return redirect(reverse("session_detail", args=[delivery.session_id]) + "#reminders")


def _say_how_many(request, count: int) -> None:
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d failed message will be sent again.",
                "%(count)d failed messages will be sent again.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("No failed message of a session not yet started was left to send again."))


@editor_required
@require_POST
def resend_failed_of_session(request, pk: int):
    """Every failed message of the session at once (after a mail-server outage, say)."""
    session = get_object_or_404(Session, pk=pk)
    _say_how_many(request, reminders.resend_failed_of_session(session=session, changed_by=request.user))
    return redirect(reverse("session_detail", args=[pk]) + "#reminders")


@editor_required
@require_POST
def resend_failed_of_course(request, pk: int):
    """Every failed message of the course's sessions not yet started, at once."""
    course = get_object_or_404(Course, pk=pk)
    _say_how_many(request, reminders.resend_failed_of_course(course=course, changed_by=request.user))
    return redirect(reverse("course_detail", args=[pk]) + "#failed-reminders")


@require_http_methods(["GET", "POST"])
def opt_out(request, token: str):
    """No log-in: the signed token is the proof. GET asks, POST confirms (mail scanners only GET)."""
    official = reminders.official_from_opt_out_token(token)
    if official is None:
        return render(request, "participants/reminders/opt_out_invalid.html", status=400)
    done = official.reminders_opt_out_at is not None
    if request.method == "POST":
        official = reminders.opt_out(official=official)
        done = True
    return render(request, "participants/reminders/opt_out.html", {"official": official, "done": done})
