"""Reads for self check-in: whether a session takes check-ins, the search over its officials,
its arrivals and walk-ins, and the register's rows as the staff's page polls them."""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Session
from participants.models import Attendance, AttendanceStatus, Enrollment, SelfCheckIn, WalkIn
from participants.selectors import SELF_CHECK_IN, recorder_label, self_checked_in  # noqa: F401 - read here by the views and services
from pcp_portal.text import latin_digits, name_key, phone_key

# A search must say this much before anyone is shown, and shows at most this many: enough to find
# oneself, too little to list the room.
SEARCH_MIN_LENGTH = 3
SEARCH_MAX_RESULTS = 5


def check_in_refusal(session: Session, now: datetime.datetime | None = None) -> str | None:
    """Why `session` takes no check-in now (None if it does): cancelled, no start time, not yet
    open (PCP_CHECK_IN_OPENS_MINUTES before the start) or over."""
    now = now or timezone.now()
    if session.status == Session.Status.CANCELLED:
        return _("This session was cancelled: there is nothing to check in to.")
    if session.starts_at is None:
        return _("This session has no start time yet: check-in is not open.")
    opens = session.starts_at - datetime.timedelta(minutes=settings.PCP_CHECK_IN_OPENS_MINUTES)
    closes = session.ends_at or session.starts_at + datetime.timedelta(
        hours=settings.PCP_CHECK_IN_OPEN_HOURS_WITHOUT_END
    )
    if now < opens:
        return _("Check-in opens at %(time)s.") % {"time": local_time(opens)}
    if now > closes:
        return _("This session is over: check-in is closed.")
    return None


def arrival_status(session: Session, arrived_at: datetime.datetime) -> str:
    """Present, or late when arriving more than PCP_CHECK_IN_LATE_AFTER_MINUTES after the start."""
    grace = datetime.timedelta(minutes=settings.PCP_CHECK_IN_LATE_AFTER_MINUTES)
    if session.starts_at is not None and arrived_at > session.starts_at + grace:
        return AttendanceStatus.LATE
    return AttendanceStatus.PRESENT


def local_time(moment: datetime.datetime) -> str:
    """“08:47” in the portal's time zone."""
    return timezone.localtime(moment).strftime("%H:%M")


def search_key(query: str) -> tuple[str, str]:
    """(name key, phone key) of what was typed; the phone key only when it is mostly digits."""
    text = latin_digits(query or "")
    digits = re.sub(r"\D", "", text)
    mostly_digits = len(digits) >= SEARCH_MIN_LENGTH and len(digits) * 2 >= len(re.sub(r"\s", "", text))
    return name_key(query), phone_key(text) if mostly_digits else ""


def enrolled_matches(session: Session, query: str) -> tuple[list[Enrollment], bool]:
    """The session's enrolled (not withdrawn) officials whose name in either script or phone holds
    what was typed: (at most SEARCH_MAX_RESULTS, whether there were more). One query."""
    names, phone = search_key(query)
    condition = Q(official__search_names__contains=names) if len(names) >= SEARCH_MIN_LENGTH else Q()
    if phone:
        condition |= Q(official__search_contact__contains=phone)
    if not condition:
        return [], False
    found = list(
        Enrollment.objects.filter(condition, course_id=session.course_id, status=Enrollment.Status.ENROLLED)
        .select_related("official")
        .order_by("official__family_name", "official__given_name", "official__name_km", "id")[
            : SEARCH_MAX_RESULTS + 1
        ]
    )
    return found[:SEARCH_MAX_RESULTS], len(found) > SEARCH_MAX_RESULTS


def arrivals(session: Session) -> QuerySet[SelfCheckIn]:
    """The session's standing self check-ins, latest first."""
    return (
        SelfCheckIn.objects.filter(session=session, undone_at__isnull=True)
        .select_related("enrollment__official")
        .order_by("-checked_in_at", "-id")
    )


def pending_walk_ins(session: Session) -> QuerySet[WalkIn]:
    return (
        WalkIn.objects.filter(session=session, status=WalkIn.Status.PENDING)
        .select_related("ministry")
        .order_by("arrived_at", "id")
    )


def live_attendance(session: Session) -> QuerySet[Attendance]:
    """The session's marks as the register's poll sends them: one query."""
    return (
        Attendance.objects.filter(session=session)
        .select_related("recorded_by")
        .annotate(self_checked_in=self_checked_in())
        .order_by()
    )


def panel_context(session: Session) -> dict:
    """The register's check-in panel: the standing check-ins, the walk-ins to decide, and whether
    check-in is open. Three queries."""
    return {
        "session": session,
        "check_ins": list(arrivals(session)[:200]),
        "walk_ins": list(pending_walk_ins(session)),
        "check_in_refusal": check_in_refusal(session),
    }
