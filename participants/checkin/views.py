"""The check-in screen for staff, the public page its code opens, and the staff's handling of
arrivals and walk-ins. Thin: the services write, the selectors read."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.models import Session
from participants.checkin import selectors, services, tokens
from participants.checkin.forms import SEARCH_FIELD_ATTRS, WalkInRequestForm
from participants.checkin.selectors import SEARCH_MIN_LENGTH
from participants.models import SelfCheckIn, WalkIn
from pcp_portal.decorators import editor_required, reader_required
from pcp_portal.middleware import client_ip
from pcp_portal.text import SEARCH_MAX_LENGTH
from pcp_portal.throttling import CheckInRateThrottle

# --- staff: the screen in the training room ------------------------------------------------------


def _session(pk: int) -> Session:
    return get_object_or_404(Session.objects.select_related("course"), pk=pk)


def _code_state(request, session: Session) -> dict:
    """What the screen shows now: the code's address and QR (or why there is none) and the count."""
    state = {"arrivals": selectors.arrivals(session).count(), "refusal": selectors.check_in_refusal(session)}
    if state["refusal"] is None:
        code = tokens.make_code(session.pk)
        url = request.build_absolute_uri(reverse("check_in_code", args=[session.pk, code]))
        state.update(
            url=url,
            short_url=url.split("://", 1)[-1],
            expires_in=tokens.code_expires_in(code),
            svg=segno.make(url, error="m").svg_inline(scale=8, border=2, omitsize=True),
        )
    return state


@editor_required
@require_GET
@never_cache
def check_in_screen(request, pk: int):
    """Full screen, for a projector or a tablet: the QR code, its address and the arrivals."""
    session = _session(pk)
    return render(
        request,
        "participants/check_in_screen.html",
        {"session": session, **_code_state(request, session), "rotate": settings.PCP_CHECK_IN_ROTATE_SECONDS},
    )


@editor_required
@require_GET
@never_cache
def check_in_code(request, pk: int):
    """The screen's poll: the current code (the same one for the whole rotation window)."""
    state = _code_state(request, _session(pk))
    return JsonResponse({key: value for key, value in state.items() if value is not None})


@reader_required
@require_GET
@never_cache
def register_live(request, pk: int):
    """The register's poll: every row's current mark, and the arrivals panel, so a check-in made
    on a phone appears on the staff's page within seconds. Three queries, whatever the room."""
    session = _session(pk)
    rows = {}
    for attendance in selectors.live_attendance(session):
        rows[attendance.enrollment_id] = {
            "status": attendance.status,
            "status_label": attendance.get_status_display(),
            "note": attendance.note,
            "version": attendance.version,
            "recorded_by": selectors.recorder_label(attendance),
            "recorded_at": timezone.localtime(attendance.recorded_at).strftime("%Y-%m-%d %H:%M"),
            # When the mark was made, in seconds: the page applies only marks newer than its own,
            # so a poll answered just after a save of this page cannot put back what was there.
            "stamp": attendance.recorded_at.timestamp(),
        }
    panel = render_to_string(
        "participants/_check_in_panel.html", selectors.panel_context(session), request=request
    )
    return JsonResponse({"rows": rows, "panel": panel})


@editor_required
@require_POST
def check_in_undo(request, pk: int):
    check_in = get_object_or_404(SelfCheckIn.objects.select_related("enrollment__official"), pk=pk)
    try:
        services.self_check_in_undo(check_in=check_in, undone_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The check-in of %(name)s was undone.") % {"name": check_in.enrollment.official.full_name},
        )
    return redirect(reverse("session_detail", args=[check_in.session_id]) + "#check-in")


@editor_required
@require_POST
def walk_in_decide(request, pk: int, decision: str):
    walk_in = get_object_or_404(WalkIn, pk=pk)
    try:
        if decision == "confirm":
            services.walk_in_confirm(walk_in=walk_in, confirmed_by=request.user)
            messages.success(request, _("%(name)s was enrolled and marked.") % {"name": walk_in.name})
        elif decision == "dismiss":
            services.walk_in_dismiss(walk_in=walk_in, dismissed_by=request.user)
            messages.success(request, _("%(name)s was dismissed.") % {"name": walk_in.name})
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(reverse("session_detail", args=[walk_in.session_id]) + "#check-in")


# --- public: the page the code opens on a phone ---------------------------------------------------


def _limited(request):
    """The answer when this address has tried too often this minute, else None."""
    throttle = CheckInRateThrottle()
    if throttle.allow_request(request, None):
        return None
    response = render(
        request,
        "participants/check_in_public.html",
        {
            "refused": _("Too many attempts from your connection. Wait a minute, then try again."),
            "limited": True,
        },
        status=429,
    )
    response["Retry-After"] = str(max(1, math.ceil(throttle.wait() or 1)))
    return response


def _refused(request, session, message: str, *, status: int = 400, **extra):
    return render(
        request,
        "participants/check_in_public.html",
        {**extra, "session": session, "refused": message},
        status=status,
    )


@require_GET
@never_cache
def check_in_code_landing(request, pk: int, code: str):
    """What the QR code opens: the code is checked, then the page continues with a pass of its
    own (the code would expire while the name is being typed)."""
    if (limited := _limited(request)) is not None:
        return limited
    session = Session.objects.filter(pk=pk).first()
    try:
        tokens.read_code(code, pk)
    except tokens.CodeRefused as refused:
        return _refused(request, session, refused.message)
    if session is None:
        raise Http404
    if refusal := selectors.check_in_refusal(session):
        return _refused(request, session, refusal)
    return redirect(_page_url(session, tokens.make_pass(session.pk)))


def _page_url(session, pass_token: str, **query) -> str:
    return reverse("check_in_page", args=[session.pk]) + "?" + urlencode({"pass": pass_token, **query})


@require_http_methods(["GET", "POST"])
@never_cache
def check_in_page(request, pk: int):
    """Find oneself among the session's officials and check in; or leave one's name as a walk-in."""
    if (limited := _limited(request)) is not None:
        return limited
    session = get_object_or_404(Session.objects.select_related("course"), pk=pk)
    pass_token = request.GET.get("pass", "")
    try:
        tokens.read_pass(pass_token, session.pk)
    except tokens.CodeRefused as refused:
        return _refused(request, session, refused.message)
    if refusal := selectors.check_in_refusal(session):
        return _refused(request, session, refusal)
    context = {
        "session": session,
        "pass": pass_token,
        "query": "",
        "min_length": SEARCH_MIN_LENGTH,
        "max_length": SEARCH_MAX_LENGTH,
        "search_attrs": SEARCH_FIELD_ATTRS,
    }
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "check_in":
        return _check_in(request, session, context)
    walk_in_form = WalkInRequestForm(request.POST if action == "walk_in" else None, session=session)
    context["walk_in_form"] = walk_in_form
    if action == "walk_in":
        return _walk_in(request, session, context, walk_in_form)
    query = request.GET.get("q", "")[:SEARCH_MAX_LENGTH].strip()
    context["query"] = query
    if query:
        names, phone = selectors.search_key(query)
        if len(names) < SEARCH_MIN_LENGTH and not phone:
            context["search_error"] = _(
                "Type at least %(count)s letters of your name, or your phone number."
            ) % {"count": SEARCH_MIN_LENGTH}
        else:
            context["matches"], context["more"] = selectors.enrolled_matches(session, query)
            context["searched"] = True
    return render(
        request,
        "participants/check_in_public.html",
        context,
        status=400 if "search_error" in context else 200,
    )


def _check_in(request, session, context):
    try:
        enrollment_id = int(request.POST.get("enrollment", ""))
    except ValueError:
        return _refused(request, session, _("Choose your name in the list."), **_without_session(context))
    try:
        check_in = services.self_check_in(
            session=session, enrollment_id=enrollment_id, ip_address=client_ip(request)
        )
    except ValidationError as error:
        return _refused(request, session, " ".join(error.messages), **_without_session(context))
    return render(
        request,
        "participants/check_in_public.html",
        {
            **context,
            "checked_in": check_in,
            "official": check_in.enrollment.official,
            "time": selectors.local_time(check_in.checked_in_at),
        },
    )


def _without_session(context: dict) -> dict:
    return {key: value for key, value in context.items() if key != "session"}


def _walk_in(request, session, context, form):
    if not form.is_valid():
        context["walk_in_open"] = True
        return render(request, "participants/check_in_public.html", context, status=400)
    try:
        walk_in = services.walk_in_create(session=session, ip_address=client_ip(request), **form.cleaned_data)
    except ValidationError as error:
        context["walk_in_open"] = True
        form.add_error(None, error)
        return render(request, "participants/check_in_public.html", context, status=400)
    return render(request, "participants/check_in_public.html", {**context, "walk_in_done": walk_in})
