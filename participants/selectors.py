"""Reads of officials, enrolments and attendance for the portal's pages, each in a fixed number of queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, Lag
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Programme, Project, Session
from courses.selectors import sessions_held_filter
from participants.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    Enrollment,
    Official,
    OfficialMerge,
    ReminderDelivery,
    SelfCheckIn,
)
from participants.series import officials_in_state
from pcp_portal.forms import label_in_language


def user_label(user) -> str:
    """How a person who changed something is named on a page."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# The history's change reason of a mark made by the official on the QR check-in page (no user).
SELF_CHECK_IN = "self-check-in"


def self_checked_in() -> Exists:
    """Annotation for an Attendance queryset: its current mark is a standing self check-in."""
    return Exists(
        SelfCheckIn.objects.filter(
            session_id=OuterRef("session_id"),
            enrollment_id=OuterRef("enrollment_id"),
            version=OuterRef("version"),
            undone_at__isnull=True,
        )
    )


def recorder_label(attendance: Attendance) -> str:
    """Who recorded a mark, as the register shows it: a self check-in has no user and says so."""
    if attendance.recorded_by_id is None and getattr(attendance, "self_checked_in", False):
        return _("self check-in")
    return user_label(attendance.recorded_by)


@dataclass
class RegisterRow:
    enrollment: Enrollment
    attendance: Attendance | None
    error: str = ""  # a refused change, shown next to the row

    @property
    def official(self) -> Official:
        return self.enrollment.official

    @property
    def status(self) -> str:
        return self.attendance.status if self.attendance else ""

    @property
    def note(self) -> str:
        return self.attendance.note if self.attendance else ""

    @property
    def recorded_by(self) -> str:
        return recorder_label(self.attendance) if self.attendance else ""

    @property
    def version(self) -> int:
        return self.attendance.version if self.attendance else 0


@dataclass
class Register:
    rows: list[RegisterRow]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def unmarked(self) -> int:
        return self.counts.get("", 0)


def register_for_session(session) -> Register:
    """Every official enrolled in the session's course, with their attendance row: two queries."""
    enrollments = list(
        Enrollment.objects.filter(course_id=session.course_id, status=Enrollment.Status.ENROLLED)
        .select_related("official")
        .order_by("official__family_name", "official__given_name", "official__name_km", "id")
    )
    attendances = {
        attendance.enrollment_id: attendance
        for attendance in Attendance.objects.filter(session=session)
        .select_related("recorded_by")
        .annotate(self_checked_in=self_checked_in())
    }
    rows = [RegisterRow(enrollment, attendances.get(enrollment.pk)) for enrollment in enrollments]
    counts = Counter(row.status for row in rows)
    return Register(
        rows=rows, counts={status: counts.get(status, 0) for status in ["", *AttendanceStatus.values]}
    )


def course_enrollments(course) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(course=course)
        .select_related("official")
        .order_by("status", "official__family_name", "official__given_name", "id")
    )


def officials_search(query: str, *, course=None, limit: int = 25) -> QuerySet[Official]:
    """Officials whose name (Latin or Khmer script), ministry or e-mail contains every word of `query`.

    With `course`, each result carries `already_enrolled`.
    """
    officials = Official.objects.select_related("ministry").order_by("family_name", "given_name", "id")
    words = query.split()
    if not words:
        return officials.none()
    for word in words:
        officials = officials.filter(
            Q(family_name__icontains=word)
            | Q(given_name__icontains=word)
            | Q(name_km__icontains=word)
            | Q(email__icontains=word)
            | Q(ministry__name_en__icontains=word)
            | Q(ministry__name_km__icontains=word)
            | Q(ministry__acronym__iexact=word)
        )
    if course is not None:
        officials = officials.annotate(
            already_enrolled=Exists(Enrollment.objects.filter(official=OuterRef("pk"), course=course))
        )
    return officials[:limit]


@dataclass
class HistoryEntry:
    when: object
    who: object
    subject: str
    change: str  # "+" created, "~" changed, "-" deleted
    old: str
    new: str
    ip_address: str | None
    reason: str = ""

    @property
    def who_label(self) -> str:
        if self.who is None and self.reason == SELF_CHECK_IN:
            return _("self check-in")
        return user_label(self.who)


def _describe_attendance(record) -> str:
    text = (
        str(AttendanceStatus(record.status).label)
        if record.status in AttendanceStatus.values
        else record.status
    )
    return f"{text} — {record.note}" if record.note else text


def _describe_enrollment(record) -> str:
    text = str(Enrollment.Status(record.status).label)
    if record.status == Enrollment.Status.WITHDRAWN and record.withdrawal_reason:
        text = f"{text} — {record.withdrawal_reason}"
    return text


def _describe_official(record) -> str:
    names = " / ".join(
        part for part in (f"{record.family_name} {record.given_name}".strip(), record.name_km) if part
    )
    return f"{names} — {record.position}" if record.position else names


@dataclass(frozen=True)
class _Shown:
    """What a history table shows of one model: the fields, their text, and the condition (on the
    fields and their `previous_` twins) of a save that changed none of them (a timestamp, say)."""

    fields: tuple[str, ...]
    describe: Callable
    unchanged: Q


_ATTENDANCE = _Shown(
    ("status", "note"), _describe_attendance, Q(status=F("previous_status"), note=F("previous_note"))
)
_ENROLLMENT = _Shown(
    ("status", "withdrawal_reason"),
    _describe_enrollment,
    # The reason is shown only for a withdrawal.
    Q(status=F("previous_status"))
    & (~Q(status=Enrollment.Status.WITHDRAWN) | Q(withdrawal_reason=F("previous_withdrawal_reason"))),
)
_OFFICIAL_FIELDS = ("family_name", "given_name", "name_km", "position")
_OFFICIAL = _Shown(
    _OFFICIAL_FIELDS, _describe_official, Q(**{name: F(f"previous_{name}") for name in _OFFICIAL_FIELDS})
)


def _latest_changes(records: QuerySet, shown: _Shown, *, subject, limit: int) -> list[HistoryEntry]:
    """The newest `limit` history rows that changed something shown, newest first, each with its
    old value taken from the row before it for the same object.

    The row before is found by LAG in SQL and the limit is SQL's LIMIT, so a page reads `limit`
    rows however long the history grows (a slice after loading grew with every register save).
    """
    order = [F("history_date").asc(), F("history_id").asc()]
    before = {
        f"previous_{name}": Window(Lag(name), partition_by=[F("id")], order_by=order)
        for name in ("history_id", *shown.fields)
    }
    records = (
        records.annotate(**before)
        .exclude(Q(history_type="~", previous_history_id__isnull=False) & shown.unchanged)
        .order_by("-history_date", "-history_id")[:limit]
    )
    entries = []
    for record in records:
        old = ""
        if record.previous_history_id is not None:
            previous = SimpleNamespace(**{name: getattr(record, f"previous_{name}") for name in shown.fields})
            old = shown.describe(previous)
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=record.history_user,
                subject=subject(record),
                change=record.history_type,
                old=old,
                new=shown.describe(record),
                ip_address=record.ip_address,
                reason=record.history_change_reason or "",
            )
        )
    return entries


def attendance_history(session, *, limit: int = 200) -> list[HistoryEntry]:
    """The latest changes to the session's attendance, newest first: who, when, old and new value.
    One query, limited in SQL."""
    records = Attendance.history.filter(session_id=session.pk).select_related(
        "history_user", "enrollment__official"
    )
    return _latest_changes(records, _ATTENDANCE, subject=lambda r: str(r.enrollment.official), limit=limit)


def enrollment_history(course, *, limit: int = 200) -> list[HistoryEntry]:
    """The latest changes to the course's enrolments, newest first. One query, limited in SQL."""
    records = Enrollment.history.filter(course_id=course.pk).select_related("history_user", "official")
    return _latest_changes(records, _ENROLLMENT, subject=lambda r: str(r.official), limit=limit)


# --- courses seen with their officials ------------------------------------------------------


def programme_overview() -> QuerySet[Programme]:
    """Programmes with their projects and courses, in three queries whatever their number."""
    courses = Course.objects.annotate(
        sessions_planned=Count(
            "sessions", filter=~Q(sessions__status=Session.Status.CANCELLED), distinct=True
        ),
        enrolled=Count(
            "enrollments", filter=Q(enrollments__status=Enrollment.Status.ENROLLED), distinct=True
        ),
    ).order_by("number")
    projects = Project.objects.prefetch_related(Prefetch("courses", queryset=courses))
    return Programme.objects.prefetch_related(Prefetch("projects", queryset=projects))


def _count(queryset, **filters):
    """A correlated COUNT subquery: several counts on one course without multiplying joins."""
    rows = queryset.filter(**filters).order_by().values("course_key").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def courses_with_progress(*, now=None) -> QuerySet[Course]:
    """Courses with sessions planned/held and enrolled officials, in one query.

    Attendance figures are not computed here: they come from reports.figures, the one
    definition every page, export and the API use.
    """
    now = now or timezone.now()
    course = OuterRef("pk")
    held = sessions_held_filter(now=now)
    sessions = Session.objects.annotate(course_key=F("course_id"))
    enrollments = Enrollment.objects.annotate(course_key=F("course_id"))
    return (
        Course.objects.select_related("project")
        .annotate(
            sessions_planned=_count(sessions, course_key=course, status=Session.Status.SCHEDULED),
            sessions_held=_count(sessions.filter(held), course_key=course),
            enrolled=_count(enrollments, course_key=course, status=Enrollment.Status.ENROLLED),
        )
        .order_by("project_id", "number")
    )


def course_sessions(course) -> QuerySet[Session]:
    """A course's sessions with the number of officials marked attending each."""
    return course.sessions.annotate(
        marked=Count("attendances", distinct=True),
        attended=Count(
            "attendances",
            filter=Q(attendances__status__in=[AttendanceStatus.PRESENT, AttendanceStatus.LATE]),
            distinct=True,
        ),
    ).order_by("starts_at", "id")


def calendar_feed_sessions(token) -> QuerySet[Session]:
    """The sessions a calendar feed shows: all of them (personal), one course's, or those of the
    courses in which an official enrolled from the ministry (as named at enrolment) still is."""
    sessions = Session.objects.select_related("course").order_by("starts_at", "id")
    if token.scope == token.Scope.COURSE:
        return sessions.filter(course_id=token.course_id)
    if token.scope == token.Scope.MINISTRY:
        courses = Enrollment.objects.filter(ministry_id=token.ministry_id, status=Enrollment.Status.ENROLLED)
        return sessions.filter(course_id__in=courses.values("course_id"))
    return sessions


# --- officials: the list and one official's page ----------------------------------------------

# The orders the officials list offers: {key in the address: the columns it sorts by}. Each ends
# with the id, so a page boundary never moves between two requests.
OFFICIAL_ORDERS = {
    "name": ("family_name", "given_name", "name_km", "id"),
    "-name": ("-family_name", "-given_name", "-name_km", "-id"),
    "ministry": ("ministry__name_en", "family_name", "given_name", "id"),
    "-ministry": ("-ministry__name_en", "-family_name", "-given_name", "-id"),
    "enrolments": ("enrolment_count", "family_name", "given_name", "id"),
    "-enrolments": ("-enrolment_count", "-family_name", "-given_name", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


def officials_list(
    *,
    ministry=None,
    sex: str = "",
    course=None,
    series=None,
    series_status: str = "",
    order: str = "name",
) -> QuerySet[Official]:
    """Officials for the list page, filtered and sorted, each with its ministry and number of
    enrolments: one query per page (plus the paginator's count), whatever the page size. A
    series status is judged by participants.series (three more queries, whatever the number)."""
    enrolments = (
        Enrollment.objects.filter(official=OuterRef("pk"))
        .order_by()
        .values("official")
        .annotate(n=Count("pk"))
        .values("n")
    )
    officials = Official.objects.select_related("ministry").annotate(
        enrolment_count=Coalesce(Subquery(enrolments, output_field=IntegerField()), 0)
    )
    if ministry is not None:
        officials = officials.filter(ministry=ministry)
    if sex:
        officials = officials.filter(sex=sex)
    if course is not None:
        officials = officials.filter(
            Exists(Enrollment.objects.filter(official=OuterRef("pk"), course=course))
        )
    if series is not None and series_status:
        officials = officials.filter(officials_in_state(series, series_status))
    return officials.order_by(*OFFICIAL_ORDERS.get(order, OFFICIAL_ORDERS["name"]))


@dataclass
class SessionMark:
    """One session of an enrolled course and the official's attendance at it (None: not marked)."""

    session: Session
    attendance: Attendance | None

    @property
    def status_label(self) -> str:
        return str(self.attendance.get_status_display()) if self.attendance else ""


@dataclass
class EnrolmentRecord:
    enrollment: Enrollment
    marks: list[SessionMark]

    @property
    def certificate(self):
        # Reverse one-to-one read through select_related: no query, None when none was issued.
        return getattr(self.enrollment, "certificate", None)


@dataclass
class OfficialPage:
    official: Official
    enrolments: list[EnrolmentRecord]
    deliveries: list
    history: list[HistoryEntry]
    merges: list
    series_certificates: list = field(default_factory=list)


def official_enrolments(official_ids) -> dict[int, list[EnrolmentRecord]]:
    """Each official's enrolments with every session of the course and the attendance at it:
    three queries whatever the number of officials, enrolments and sessions."""
    enrollments = list(
        Enrollment.objects.filter(official_id__in=official_ids)
        .select_related("course__project", "ministry", "certificate")
        .order_by("course__start_date", "course__number", "id")
    )
    course_ids = {enrollment.course_id for enrollment in enrollments}
    sessions: dict[int, list[Session]] = {}
    for session in Session.objects.filter(course_id__in=course_ids).order_by("starts_at", "id"):
        sessions.setdefault(session.course_id, []).append(session)
    marks = {
        (attendance.enrollment_id, attendance.session_id): attendance
        for attendance in Attendance.objects.filter(enrollment__in=[e.pk for e in enrollments]).order_by()
    }
    records: dict[int, list[EnrolmentRecord]] = {}
    for enrollment in enrollments:
        rows = [
            SessionMark(s, marks.get((enrollment.pk, s.pk))) for s in sessions.get(enrollment.course_id, [])
        ]
        records.setdefault(enrollment.official_id, []).append(EnrolmentRecord(enrollment, rows))
    return records


def official_history(official: Official, *, limit: int = 100) -> list[HistoryEntry]:
    """The official's own changes and their enrolments', newest first: two queries, each limited in SQL."""
    own = _latest_changes(
        Official.history.filter(id=official.pk).select_related("history_user"),
        _OFFICIAL,
        subject=lambda r: str(_("Official")),
        limit=limit,
    )
    enrolments = _latest_changes(
        Enrollment.history.filter(official_id=official.pk).select_related("history_user", "course"),
        _ENROLLMENT,
        subject=lambda r: label_in_language(r.course),
        limit=limit,
    )
    entries = own + enrolments
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def official_page(official_id: int, *, deliveries_limit: int = 100) -> OfficialPage | None:
    """Everything an official's page shows, in a fixed number of queries (none per enrolment)."""
    official = Official.objects.select_related("ministry", "department").filter(pk=official_id).first()
    if official is None:
        return None
    deliveries = list(
        ReminderDelivery.objects.filter(official=official)
        .select_related("session__course")
        .order_by("-created_at", "-id")[:deliveries_limit]
    )
    merges = list(
        OfficialMerge.objects.filter(survivor=official)
        .select_related("merged_by", "undone_by")
        .order_by("-merged_at")[:20]
    )
    return OfficialPage(
        official=official,
        enrolments=official_enrolments([official.pk]).get(official.pk, []),
        deliveries=deliveries,
        history=official_history(official),
        merges=merges,
        series_certificates=list(
            Certificate.objects.filter(official=official).select_related("series").order_by("issued_at", "id")
        ),
    )
