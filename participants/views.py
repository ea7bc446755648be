"""Enrolment, walk-ins, withdrawal and the attendance register. Thin: services write, selectors read."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses.models import Course, Session
from participants import services
from participants.forms import AttendanceRowForm, EnrolForm, WalkInForm, WithdrawForm
from participants.models import Attendance, AttendanceStatus, Enrollment
from participants.pages import course_page_context, session_page_context
from participants.selectors import user_label
from pcp_portal import numerals
from pcp_portal.decorators import editor_required, editor_required_json
from pcp_portal.idempotency import idempotent_writes
from pcp_portal.text import SEARCH_MAX_LENGTH


def _messages_of(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


def _course_page(request, course, *, status=400, **extra):
    return render(
        request, "courses/course_detail.html", course_page_context(request, course, **extra), status=status
    )


def _back_to_course(course, query: str = ""):
    url = reverse("course_detail", args=[course.pk])
    if query:
        url += "?" + urlencode({"q": query})
    return redirect(f"{url}#enrolment")


@require_POST
@editor_required
def enrol(request, course_pk: int):
    course = get_object_or_404(Course, pk=course_pk)
    form = EnrolForm(request.POST)
    # Carried back into the course page's address: no longer than its search box takes.
    query = request.POST.get("q", "")[:SEARCH_MAX_LENGTH]
    if form.is_valid():
        official = form.cleaned_data["official"]
        try:
            services.enrollment_create(official=official, course=course, changed_by=request.user)
        except ValidationError as error:
            return _course_page(request, course, enrol_errors=_messages_of(error))
        messages.success(request, _("%(official)s is now enrolled.") % {"official": official})
        return _back_to_course(course, query)
    return _course_page(request, course, enrol_errors=[e for errors in form.errors.values() for e in errors])


@require_POST
@editor_required
def walk_in(request, course_pk: int):
    """Create a new official and enrol them at once, from the course page."""
    course = get_object_or_404(Course, pk=course_pk)
    form = WalkInForm(request.POST, course=course)
    if form.is_valid():
        try:
            with transaction.atomic():
                official = services.official_create(changed_by=request.user, **form.cleaned_data)
                services.enrollment_create(official=official, course=course, changed_by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(official)s was added and enrolled.") % {"official": official})
            return _back_to_course(course)
    return _course_page(request, course, walk_in_form=form, walk_in_open=True)


@require_POST
@editor_required
def withdraw(request, pk: int):
    enrollment = get_object_or_404(Enrollment.objects.select_related("official", "course"), pk=pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        services.enrollment_withdraw(
            enrollment=enrollment, reason=form.cleaned_data["reason"], changed_by=request.user
        )
        messages.success(
            request,
            _("%(official)s was withdrawn; the enrolment and its attendance stay in the record.")
            % {"official": enrollment.official},
        )
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return _back_to_course(enrollment.course)


@require_POST
@editor_required
def reinstate(request, pk: int):
    enrollment = get_object_or_404(Enrollment.objects.select_related("official", "course"), pk=pk)
    services.enrollment_reinstate(enrollment=enrollment, changed_by=request.user)
    messages.success(request, _("%(official)s is enrolled again.") % {"official": enrollment.official})
    return _back_to_course(enrollment.course)


# The register -------------------------------------------------------------------------------


def row_payload(attendance: Attendance, digits: str = numerals.LATIN) -> dict:
    """A register row as the page's script redraws it after a save: "recorded at" in the same
    format (and digits) as the server drew the page with, so the row reads the same either way."""
    return {
        "status": attendance.status,
        "status_label": str(AttendanceStatus(attendance.status).label),
        "note": attendance.note,
        "version": attendance.version,
        "recorded_by": user_label(attendance.recorded_by),
        "recorded_at": numerals.in_digits(numerals.moment_text(attendance.recorded_at), digits),
    }


def stale_message(attendance: Attendance, official) -> str:
    status = str(AttendanceStatus(attendance.status).label)
    if attendance.note:
        status = f"{status} ({attendance.note})"
    return _(
        "Not saved: %(official)s was changed meanwhile by %(user)s at %(when)s to “%(status)s”. "
        "The register now shows that value; choose again to change it."
    ) % {
        "official": official,
        "user": user_label(attendance.recorded_by) or _("someone"),
        "when": numerals.moment_text(attendance.recorded_at),
        "status": status,
    }


def _row_messages(error: ValidationError) -> list[str]:
    """A refusal of one row as the row's own messages (the page shows them beside the row)."""
    if isinstance(error, services.AttendanceRowsInvalid):
        return [message for row_error in error.row_errors.values() for message in row_error.messages]
    return _messages_of(error)


def _refusal_code(error: ValidationError) -> str:
    """The kind of a one-row refusal, as the service names it ("invalid" if it names none)."""
    if isinstance(error, services.AttendanceRowsInvalid):
        codes = sorted(error.codes(next(iter(error.row_errors))))
    else:
        codes = [e.code for errors in getattr(error, "error_dict", {}).values() for e in errors]
    return next((code for code in codes if code), "invalid")


@require_POST
@editor_required_json
@idempotent_writes
def register_row(request, pk: int, enrollment_pk: int):
    """Save one row of the register (the page's script posts here row by row): JSON in reply.

    A refusal says why in `message` and names its kind in `code` (withdrawn, session_cancelled,
    not_enrolled, ... as the service names them; logged_out and role_removed from the decorator):
    the page's queue keeps a mark that may still go through and drops one that never will.
    """
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    form = AttendanceRowForm(request.POST)
    if not form.is_valid():
        return JsonResponse(
            {
                "ok": False,
                "errors": {name: [str(e) for e in errors] for name, errors in form.errors.items()},
                "message": " ".join(str(e) for errors in form.errors.values() for e in errors),
            },
            status=400,
        )
    row = services.AttendanceRow(
        enrollment=enrollment_pk,
        status=form.cleaned_data["status"],
        note=form.cleaned_data["note"],
        expected_version=form.cleaned_data["version"],
    )
    try:
        [outcome] = services.attendance_record_many(session=session, rows=[row], recorded_by=request.user)
    except services.StaleAttendanceError as stale:
        return JsonResponse(
            {
                "ok": False,
                "stale": True,
                "message": stale_message(stale.current, stale.current.enrollment.official),
                "row": row_payload(stale.current, numerals.request_digits(request)),
            },
            status=409,
        )
    except ValidationError as error:
        return JsonResponse(
            {"ok": False, "code": _refusal_code(error), "message": " ".join(_row_messages(error))}, status=400
        )
    row = row_payload(outcome.attendance, numerals.request_digits(request))
    return JsonResponse({"ok": True, "changed": outcome.changed, "row": row})


ROW_ID = re.compile(r"[0-9]{1,18}")  # an enrolment's id: ASCII digits, within a bigint


def _register_post_rows(post, mark_all_present: bool) -> tuple[list, dict[int, str]]:
    """The rows a full-form post changes, and the errors of rows it cannot read, by enrolment id."""
    rows, row_errors = [], {}
    for enrollment_id in dict.fromkeys(post.getlist("row")):
        pk = int(enrollment_id)
        status = post.get(f"status-{enrollment_id}", "")
        note = post.get(f"note-{enrollment_id}", "").strip()
        original_status = post.get(f"orig-status-{enrollment_id}", "")
        original_note = post.get(f"orig-note-{enrollment_id}", "")
        if mark_all_present and not status and not original_status:
            status = AttendanceStatus.PRESENT
        if not status:
            if note and note != original_note:
                row_errors[pk] = _("Choose a status before writing a note.")
            continue
        if status not in AttendanceStatus.values:
            row_errors[pk] = _("“%(status)s” is not an attendance status.") % {"status": status}
            continue
        if len(note) > Attendance.NOTE_MAX_LENGTH:
            row_errors[pk] = _("A note can have at most %(limit)s characters.") % {
                "limit": Attendance.NOTE_MAX_LENGTH
            }
            continue
        if status == original_status and note == original_note:
            continue  # untouched: not written, whatever happened to the row meanwhile
        try:
            version = int(post.get(f"version-{enrollment_id}", "0"))
        except ValueError:
            version = -1
        if version < 0:
            row_errors[pk] = _("This row's version is not valid; reload the register.")
            continue
        rows.append(services.AttendanceRow(enrollment=pk, status=status, note=note, expected_version=version))
    return rows, row_errors


@require_POST
@editor_required
def register_submit(request, pk: int):
    """The register's full-form fallback without JavaScript: every changed row in one post.

    Bad input (an unknown status, an official of another course, a withdrawn one) saves nothing.
    A row changed meanwhile by someone else is refused with the newer value; the other rows are
    saved (attendance_record_many with skip_conflicts).
    """
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    if not all(ROW_ID.fullmatch(enrollment_id) for enrollment_id in request.POST.getlist("row")):
        return _register_refused(request, session, foreign=True)  # no enrolment has such an id
    rows, row_errors = _register_post_rows(request.POST, "mark_all_present" in request.POST)
    if row_errors:
        return _register_refused(request, session, row_errors=row_errors)
    try:
        outcomes = services.attendance_record_many(
            session=session, rows=rows, recorded_by=request.user, skip_conflicts=True
        )
    except services.AttendanceRowsInvalid as invalid:
        if any("not_enrolled" in invalid.codes(index) for index in invalid.row_errors):
            return _register_refused(request, session, foreign=True)
        return _register_refused(
            request,
            session,
            row_errors={rows[i].enrollment: " ".join(e.messages) for i, e in invalid.row_errors.items()},
            # A row withdrawn since the page was read is no longer shown: named above the register.
            named=[
                f"{invalid.labels[i]}: {' '.join(e.messages)}"
                for i, e in invalid.row_errors.items()
                if "withdrawn" in invalid.codes(i)
            ],
        )
    except ValidationError as error:  # the session itself refuses every row (it was cancelled)
        messages.error(request, " ".join(_messages_of(error)))
        return redirect("session_detail", pk=session.pk)
    for outcome in outcomes:
        if outcome.result == services.AttendanceResult.CONFLICT:
            messages.warning(
                request, stale_message(outcome.attendance, outcome.attendance.enrollment.official)
            )
    saved = sum(outcome.changed for outcome in outcomes)
    messages.success(request, _("Register saved: %(count)s rows changed.") % {"count": saved})
    return redirect("session_detail", pk=session.pk)


def _register_refused(request, session, *, foreign=False, row_errors=None, named=()):
    """The session page again with why nothing of the post was saved (400)."""
    if foreign:
        register_errors = [
            _(
                "This register post names officials who are not enrolled in this session's course; "
                "nothing was saved."
            )
        ]
    else:
        register_errors = [
            _("Some rows have errors; nothing was saved. Correct them and save again."),
            *named,
        ]
    return render(
        request,
        "courses/session_detail.html",
        session_page_context(session, row_errors=row_errors or {}, register_errors=register_errors),
        status=400,
    )
