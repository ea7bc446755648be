"""Reminder pages: staff send failed reminders again; an official opts out (or links Telegram)
through a signed link; the session's calendar file behind a signed link; the Telegram bot's webhook."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.models import Course, Session
from participants import reminders
from participants.models import ReminderDelivery
from pcp_portal import telegram
from pcp_portal.decorators import editor_required

logger = logging.getLogger(__name__)


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
    return render(
        request,
        "participants/reminders/opt_out.html",
        {"official": official, "done": done, "telegram_url": reminders.telegram_link_url(official)},
    )


@require_GET
def calendar(request, token: str):
    """The session of a reminder as an .ics file: the Telegram message's "Add to calendar" button.
    No log-in: the signed token names the ledger row; the session is read as it is now."""
    delivery = reminders.delivery_from_calendar_token(token)
    if delivery is None:
        raise Http404("No such calendar link.")
    response = HttpResponse(reminders.build_ics(delivery), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="session-{delivery.session_id}.ics"'
    return response


@csrf_exempt
@require_POST
def telegram_webhook(request):
    """Updates from Telegram (setWebhook with secret_token = PCP_TELEGRAM_WEBHOOK_SECRET).

    Anything Telegram sends is answered 200, even what we cannot act on (a malformed body, a
    group chat, a forged token): another answer would only make Telegram send it again. The
    reply to the person, if any, rides in the response as a sendMessage call (Telegram's
    webhook reply), so answering needs no call of ours to the Bot API.
    """
    secret = settings.PCP_TELEGRAM_WEBHOOK_SECRET
    if not secret or not telegram.enabled():
        raise Http404("The Telegram bot is not configured.")
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not constant_time_compare(given, secret):
        logger.warning("telegram webhook: refused a request without the secret token")
        return HttpResponseForbidden("Wrong secret token.")
    try:
        update = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        logger.warning("telegram webhook: ignored a body that is not JSON (%s bytes)", len(request.body))
        return JsonResponse({})
    reply = reminders.telegram_update(update)
    if reply is None:
        return JsonResponse({})
    return JsonResponse({"method": "sendMessage", "chat_id": reply.chat_id, "text": reply.text})
