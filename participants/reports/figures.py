"""THE one definition of every report figure. Pages, exports and the API summary all call these.

Definitions (the issue's words, and the only place they are written down in code):

- A session is *held* once it has started and was not cancelled: `courses.selectors.sessions_held_filter`.
- *Attendance rate*: attendances marked present or late over the attendances expected, i.e. each
  active enrolment times the sessions held of its course (an unmarked session counts as not attended).
- *Excused* absences are counted apart; they neither attend nor excuse a session from the rate.
- *Completion*: an active enrolment whose attended sessions reach the course's
  `effective_completion_threshold` (its own share, else settings.PCP_COMPLETION_THRESHOLD) of the
  course's held sessions; a course with no held session has no completion yet.
- *Officials* are distinct people (an official in two courses counts once), *enrolments* are
  official-course pairs; withdrawn enrolments are left out of every figure.
- *Trained*: distinct officials who attended at least one held session.
- Every figure of people is split by sex: women, men and the rest ("other / not stated").
- A date range keeps the sessions that started within it (local dates, both ends included) and
  the enrolments of courses with a held session in it.
- Ministries: an enrolment keeps the ministry's name valid when it was made (the snapshot);
  figures are grouped by the Ministry row, so a renamed ministry is grouped with its successor.

Aggregation happens in the database: each function below issues a fixed number of queries,
whatever the size of the data. The held sessions and the chosen enrolments are ORM querysets
(so the held rule and the parameter handling are Django's); the grouping around them is one SQL
statement with common table expressions that both PostgreSQL and SQLite run.

Where the marks are counted: without a date range the per-enrolment counts come from the rollups
(participants.rollups: one row per enrolment and per session × sex × ministry, kept by the services
and counted with `mark_counts_sql` below), so a whole-programme page reads one small row per
enrolment instead of every mark; the held rule and completion are applied on reading. A date range
reads the marks of its own sessions from the attendance. Both give the same figures
(tests/reports/test_rollups.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Session
from courses.selectors import sessions_held_filter
from participants.models import Attendance, Enrollment, EnrolmentRollup, SessionRollup

SEXES = ("female", "male", "other")
ATTENDED = ("present", "late")


@dataclass(frozen=True)
class ReportFilters:
    course_id: int | None = None
    ministry_id: int | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    # The series (participants.series) narrows the figures to one project's courses, and an
    # official's page to some officials; the report forms offer neither.
    project_id: int | None = None
    official_ids: tuple[int, ...] | None = None
    # A page of the course list or of the sessions report narrows the figures to its own rows, so
    # a page costs what its rows cost, not what the whole record does.
    course_ids: tuple[int, ...] | None = None
    session_ids: tuple[int, ...] | None = None

    @property
    def selects_nothing(self) -> bool:
        """An empty page (no course, no session): nothing to count, and no SQL to build (an empty
        IN list has none)."""
        return self.course_ids == () or self.session_ids == ()

    @property
    def has_dates(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def as_query(self) -> dict[str, str]:
        values = {
            "course": self.course_id,
            "ministry": self.ministry_id,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "project": self.project_id,
        }
        return {key: str(value) for key, value in values.items() if value is not None}


@dataclass
class SexSplit:
    women: int = 0
    men: int = 0
    other: int = 0

    def add(self, sex: str, number: int) -> None:
        attribute = {"female": "women", "male": "men"}.get(sex, "other")
        setattr(self, attribute, getattr(self, attribute) + int(number or 0))

    @property
    def total(self) -> int:
        return self.women + self.men + self.other

    @property
    def women_share(self) -> float | None:
        """Women over everyone, or None when there is nobody."""
        return self.women / self.total if self.total else None

    @property
    def women_share_text(self) -> str:
        return percent(self.women_share)

    def as_dict(self) -> dict:
        return {
            "women": self.women,
            "men": self.men,
            "other": self.other,
            "total": self.total,
            "women_share": _round(self.women_share),
        }


def percent(value: float | None) -> str:
    """A share as people read it: 87.5 %, or – when there is nothing to divide."""
    return "–" if value is None else f"{value * 100:.1f} %"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Figures:
    """The figures of one group (the programme, a course, a ministry, a sex, an enrolment)."""

    officials: SexSplit = field(default_factory=SexSplit)
    enrolments: SexSplit = field(default_factory=SexSplit)
    trained: SexSplit = field(default_factory=SexSplit)
    completed: SexSplit = field(default_factory=SexSplit)
    attended: int = 0
    expected: int = 0
    excused: int = 0
    absent: int = 0

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.expected if self.expected else None

    @property
    def completion_rate(self) -> float | None:
        return self.completed.total / self.enrolments.total if self.enrolments.total else None

    @property
    def attendance_rate_text(self) -> str:
        return percent(self.attendance_rate)

    @property
    def completion_rate_text(self) -> str:
        return percent(self.completion_rate)

    def as_dict(self) -> dict:
        return {
            "officials": self.officials.as_dict(),
            "enrolments": self.enrolments.as_dict(),
            "trained": self.trained.as_dict(),
            "completed": self.completed.as_dict(),
            "attended_sessions": self.attended,
            "expected_sessions": self.expected,
            "excused_sessions": self.excused,
            "absent_sessions": self.absent,
            "attendance_rate": _round(self.attendance_rate),
            "completion_rate": _round(self.completion_rate),
        }


# --- the building blocks -------------------------------------------------------------------------


def default_threshold() -> Decimal:
    return Decimal(str(settings.PCP_COMPLETION_THRESHOLD))


def held_sessions(filters: ReportFilters, *, now=None):
    """The held sessions a report counts: the held rule, then the course and date filters."""
    queryset = Session.objects.filter(sessions_held_filter(now=now or timezone.now()))
    if filters.course_id is not None:
        queryset = queryset.filter(course_id=filters.course_id)
    if filters.project_id is not None:
        queryset = queryset.filter(course__project_id=filters.project_id)
    if filters.course_ids is not None:
        queryset = queryset.filter(course_id__in=filters.course_ids)
    if filters.session_ids is not None:
        queryset = queryset.filter(pk__in=filters.session_ids)
    tz = timezone.get_current_timezone()
    if filters.date_from is not None:
        start = datetime.datetime.combine(filters.date_from, datetime.time.min, tzinfo=tz)
        queryset = queryset.filter(starts_at__gte=start)
    if filters.date_to is not None:
        end = datetime.datetime.combine(filters.date_to + datetime.timedelta(days=1), datetime.time.min)
        queryset = queryset.filter(starts_at__lt=end.replace(tzinfo=tz))
    return queryset.order_by()


def active_enrolments(filters: ReportFilters):
    queryset = Enrollment.objects.filter(status=Enrollment.Status.ENROLLED)
    if filters.course_id is not None:
        queryset = queryset.filter(course_id=filters.course_id)
    if filters.ministry_id is not None:
        queryset = queryset.filter(ministry_id=filters.ministry_id)
    if filters.project_id is not None:
        queryset = queryset.filter(course__project_id=filters.project_id)
    if filters.official_ids is not None:
        queryset = queryset.filter(official_id__in=filters.official_ids)
    if filters.course_ids is not None:
        queryset = queryset.filter(course_id__in=filters.course_ids)
    if filters.session_ids is not None:
        courses = Session.objects.filter(pk__in=filters.session_ids).values("course_id")
        queryset = queryset.filter(course_id__in=courses)
    return queryset.order_by()


def upcoming_sessions(filters: ReportFilters, *, now=None):
    """Sessions not cancelled and not held yet (not started, or undated), of the courses a report
    counts: the marks the rollups hold that the held rule does not count yet."""
    now = now or timezone.now()
    queryset = Session.objects.exclude(status=Session.Status.CANCELLED).filter(
        Q(starts_at__gt=now) | Q(starts_at__isnull=True)
    )
    if filters.course_id is not None:
        queryset = queryset.filter(course_id=filters.course_id)
    if filters.project_id is not None:
        queryset = queryset.filter(course__project_id=filters.project_id)
    if filters.course_ids is not None:
        queryset = queryset.filter(course_id__in=filters.course_ids)
    return queryset.order_by()


def rollup_enrolments(filters: ReportFilters):
    """The rollups of the enrolments `active_enrolments` chooses (the same filters, on the copies)."""
    queryset = EnrolmentRollup.objects.filter(active=True)
    if filters.course_id is not None:
        queryset = queryset.filter(course_id=filters.course_id)
    if filters.ministry_id is not None:
        queryset = queryset.filter(ministry_id=filters.ministry_id)
    if filters.project_id is not None:
        queryset = queryset.filter(course__project_id=filters.project_id)
    if filters.official_ids is not None:
        queryset = queryset.filter(official_id__in=filters.official_ids)
    if filters.course_ids is not None:
        queryset = queryset.filter(course_id__in=filters.course_ids)
    if filters.session_ids is not None:
        courses = Session.objects.filter(pk__in=filters.session_ids).values("course_id")
        queryset = queryset.filter(course_id__in=courses)
    return queryset.order_by()


def reads_rollups(filters: ReportFilters) -> bool:
    """Whether the enrolment figures can come from the rollups. A date range or a set of sessions
    counts the marks of some sessions only, which a per-enrolment count cannot tell apart: those
    reports read the attendance of their own sessions (a bounded set, through the index on session)."""
    return not filters.has_dates and filters.session_ids is None


def session_reads_rollups(filters: ReportFilters) -> bool:
    """Whether the per-session figures can come from the rollups: always, except for an official's
    page, which narrows to some officials' marks (the session rollups are per sex and ministry)."""
    return filters.official_ids is None


def mark_counts_sql(alias: str = "a") -> str:
    """The counts of a set of attendance rows: attended (present or late), late, excused, absent.

    The one place a mark becomes a number: the reports' enrolment figures, the per-session figures
    and the rollups (participants.rollups) all sum with these columns.
    """
    attended = ", ".join(f"'{status}'" for status in ATTENDED)
    return f"""SUM(CASE WHEN {alias}.status IN ({attended}) THEN 1 ELSE 0 END) AS attended,
               SUM(CASE WHEN {alias}.status = 'late' THEN 1 ELSE 0 END) AS late,
               SUM(CASE WHEN {alias}.status = 'excused' THEN 1 ELSE 0 END) AS excused,
               SUM(CASE WHEN {alias}.status = 'absent' THEN 1 ELSE 0 END) AS absent"""


def completed_sql(attended: str, held: str) -> str:
    """Completion of one enrolment (`c` is its course; the default threshold is the next parameter).

    The threshold is a share with two decimals: compare whole percentages, so 0.7 × 10 is exactly 7
    on SQLite's floats too.
    """
    return f"""CASE WHEN {held} > 0
                     AND {attended} * 100
                         >= CAST(ROUND(COALESCE(c.completion_threshold, %s) * 100) AS INTEGER) * {held}
                    THEN 1 ELSE 0 END"""


def _sql(queryset) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def enrolment_figures_cte(filters: ReportFilters, *, now=None) -> tuple[str, tuple]:
    """`WITH … ef AS (…)`: one row per active enrolment with held, attended, excused, absent, completed.

    This is where attendance and completion are defined; every grouped figure sums these rows.
    Without a date range they come from the rollups (`_rollup_cte`), otherwise from the attendance
    of the chosen sessions (`_attendance_cte`); both count with `mark_counts_sql` and `completed_sql`.
    """
    if reads_rollups(filters):
        return _rollup_cte(filters, now=now)
    return _attendance_cte(filters, now=now)


def _enrolment_columns(queryset, *fields, **renamed):
    return queryset.values(
        *fields, "course_id", "official_id", "ministry_id", "ministry_name_en", "ministry_acronym", **renamed
    )


def _rollup_cte(filters: ReportFilters, *, now=None) -> tuple[str, tuple]:
    """The enrolment figures from the rollups: each rollup counts the marks at every session not
    cancelled; the marks at sessions not started yet (few: a register is kept on the day) are taken
    off here, and the held sessions per course are counted here, so *held* follows the clock
    without any write (a session becomes held when its start passes, completion with it)."""
    now = now or timezone.now()
    held_sql, held_params = _sql(held_sessions(filters, now=now).values("id", "course_id"))
    enrol_sql, enrol_params = _sql(
        _enrolment_columns(
            rollup_enrolments(filters),
            id=F("enrollment_id"),
            official_sex=F("sex"),
            marked_attended=F("attended"),
            marked_excused=F("excused"),
            marked_absent=F("absent"),
        )
    )
    upcoming_sql, upcoming_params = _sql(upcoming_sessions(filters, now=now).values("id"))
    attendance = _q(Attendance._meta.db_table)
    course = _q(Course._meta.db_table)
    held_attended = "(e.marked_attended - COALESCE(p.attended, 0))"
    sql = f"""
    WITH held AS ({held_sql}),
    held_per_course AS (SELECT course_id, COUNT(*) AS n FROM held GROUP BY course_id),
    enrol AS ({enrol_sql}),
    upcoming AS ({upcoming_sql}),
    pending AS (
        SELECT a.enrollment_id, {mark_counts_sql("a")}
        FROM {attendance} a
        INNER JOIN upcoming u ON u.id = a.session_id
        GROUP BY a.enrollment_id
    ),
    ef AS (
        SELECT e.id, e.course_id, e.official_id, e.ministry_id, e.ministry_name_en,
               e.ministry_acronym, e.official_sex AS sex,
               COALESCE(hc.n, 0) AS held,
               {held_attended} AS attended,
               e.marked_excused - COALESCE(p.excused, 0) AS excused,
               e.marked_absent - COALESCE(p.absent, 0) AS absent,
               {completed_sql(held_attended, "COALESCE(hc.n, 0)")} AS completed
        FROM enrol e
        INNER JOIN {course} c ON c.id = e.course_id
        LEFT JOIN held_per_course hc ON hc.course_id = e.course_id
        LEFT JOIN pending p ON p.enrollment_id = e.id
    )"""
    return sql, (*held_params, *enrol_params, *upcoming_params, default_threshold())


def _attendance_cte(filters: ReportFilters, *, now=None) -> tuple[str, tuple]:
    """The enrolment figures from the attendance of the held sessions the filters choose.

    A date range (or a page of sessions) counts each enrolment's marks at some of its course's
    sessions only, and completion is then judged against the held sessions of the range: the
    rollups cannot give that (an enrolment's rollup sums every session; a session's is per sex and
    ministry, without the enrolment), so these reports read the attendance. They read only the
    range's rows: its sessions through the index on `starts_at`, their marks through the covering
    index on (session, enrolment, status), without visiting the table, and the enrolments of the
    courses held in the range through the index on course (the `hc.n > 0` below lets the planner
    start from those courses); tests/reports/test_course_report_postgres.py checks the plan.
    """
    held_sql, held_params = _sql(held_sessions(filters, now=now).values("id", "course_id"))
    enrol_sql, enrol_params = _sql(
        _enrolment_columns(active_enrolments(filters), "id", official_sex=F("official__sex"))
    )
    attendance = _q(Attendance._meta.db_table)
    course = _q(Course._meta.db_table)
    # An official's page sums only their enrolments' marks; otherwise every mark at a held session
    # is summed and the left join below drops the others (cheaper than joining the enrolments:
    # the small held sessions are hashed and the attendance streamed once).
    narrow = "INNER JOIN enrol en ON en.id = a.enrollment_id" if filters.official_ids is not None else ""
    sql = f"""
    WITH held AS ({held_sql}),
    held_per_course AS (SELECT course_id, COUNT(*) AS n FROM held GROUP BY course_id),
    enrol AS ({enrol_sql}),
    marks AS (
        SELECT a.enrollment_id, {mark_counts_sql("a")}
        FROM {attendance} a
        INNER JOIN held h ON h.id = a.session_id
        {narrow}
        GROUP BY a.enrollment_id
    ),
    ef AS (
        SELECT e.id, e.course_id, e.official_id, e.ministry_id, e.ministry_name_en,
               e.ministry_acronym, e.official_sex AS sex,
               COALESCE(hc.n, 0) AS held,
               COALESCE(m.attended, 0) AS attended,
               COALESCE(m.excused, 0) AS excused,
               COALESCE(m.absent, 0) AS absent,
               {completed_sql("COALESCE(m.attended, 0)", "COALESCE(hc.n, 0)")} AS completed
        FROM enrol e
        INNER JOIN {course} c ON c.id = e.course_id
        LEFT JOIN held_per_course hc ON hc.course_id = e.course_id
        LEFT JOIN marks m ON m.enrollment_id = e.id
        {"WHERE hc.n > 0" if filters.has_dates else ""}
    )"""
    return sql, (*held_params, *enrol_params, default_threshold())


GROUPS = {
    "programme": (),
    "course": ("course_id",),
    "ministry": ("ministry_id",),
    "ministry_name": ("ministry_id", "ministry_name_en", "ministry_acronym"),
    "sex": (),
    "enrolment": ("id",),
    "course_ministry": ("course_id", "ministry_id"),
}
# One query unites every grouping, so each column of the union holds one type: a group's keys go
# to the id columns or the text columns by their kind, in order, and come back in the group's order.
_TEXT_KEYS = {"ministry_name_en", "ministry_acronym"}
_ID_SLOTS, _TEXT_SLOTS = (0, 1), (2, 3)
_KEY_COLUMNS = len(_ID_SLOTS) + len(_TEXT_SLOTS)


def _key_slots(keys: tuple[str, ...]) -> list[int]:
    ids, texts = iter(_ID_SLOTS), iter(_TEXT_SLOTS)
    return [next(texts) if key in _TEXT_KEYS else next(ids) for key in keys]


@dataclass
class Reach:
    courses: int
    sessions_held: int
    ministries_reached: int


@dataclass
class Report:
    """What one call of `report_figures` returns: {group: {key: Figures}} and, when asked, the reach."""

    groups: dict[str, dict[tuple, Figures]]
    reach: Reach | None = None
    # When the figures come from the background snapshot, the time they were computed; None live.
    as_of: datetime.datetime | None = None


_AGGREGATES = """COUNT(DISTINCT official_id), COUNT(*),
           COUNT(DISTINCT CASE WHEN attended > 0 THEN official_id END),
           SUM(completed), SUM(attended), SUM(held), SUM(excused), SUM(absent)"""


def _reach_branch(filters: ReportFilters) -> str:
    """Courses with active enrolments, sessions held, and ministries with an official who attended,
    as one row in the officials/enrolments/trained columns (tagged 'reach')."""
    # With a ministry chosen, only the sessions of courses its officials were enrolled in count.
    sessions = (
        "(SELECT COUNT(*) FROM held WHERE course_id IN (SELECT course_id FROM ef))"
        if filters.ministry_id is not None
        else "(SELECT COUNT(*) FROM held)"
    )
    return f"""SELECT 'reach', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT),
           CAST(NULL AS TEXT), NULL,
           (SELECT COUNT(DISTINCT course_id) FROM ef), {sessions},
           (SELECT COUNT(DISTINCT ministry_id) FROM ef WHERE attended > 0), 0, 0, 0, 0, 0"""


def report_figures(
    filters: ReportFilters, groups: tuple[str, ...], *, reach: bool = False, now=None, live: bool = False
) -> Report:
    """Several groupings of the same figures (and the reach) in ONE query.

    The enrolment figures (`ef`) are computed once and every grouping sums them: a report that
    needs a total and its breakdown pays for one pass over the attendance, not one per grouping.
    The whole-programme figures (no filter, the present time) come from the background snapshot
    when it is valid (participants.reports.snapshot, which computes them here with `live`); its
    `as_of` says when they were computed.
    """
    if filters.selects_nothing:
        return Report(groups={group: {} for group in groups}, reach=Reach(0, 0, 0) if reach else None)
    if not live and now is None:
        # Imported here: the snapshot module computes its figures with this one.
        from participants.reports import snapshot

        stored = snapshot.stored_report(filters, groups, reach=reach)
        if stored is not None:
            return stored
    cte, params = enrolment_figures_cte(filters, now=now)
    branches = []
    for group in groups:
        keys = list(GROUPS[group])
        # Typed NULLs: PostgreSQL gives two untyped NULLs in a row of the union the type text.
        columns = ["CAST(NULL AS BIGINT)"] * len(_ID_SLOTS) + ["CAST(NULL AS TEXT)"] * len(_TEXT_SLOTS)
        for key, slot in zip(keys, _key_slots(GROUPS[group]), strict=True):
            columns[slot] = key
        padded = ", ".join(columns)
        group_by = ", ".join([*keys, "sex"])
        branches.append(f"SELECT '{group}', {padded}, sex, {_AGGREGATES} FROM ef GROUP BY {group_by}")
    if reach:
        branches.append(_reach_branch(filters))
    sql = f"{cte}\n" + "\nUNION ALL\n".join(branches)
    result = Report(groups={group: {} for group in groups})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for group, *row in cursor.fetchall():
            columns, sex, numbers = row[:_KEY_COLUMNS], row[_KEY_COLUMNS], row[_KEY_COLUMNS + 1 :]
            officials, enrolments, trained, completed, attended, held, excused, absent = numbers
            if group == "reach":
                result.reach = Reach(
                    courses=officials or 0, sessions_held=enrolments or 0, ministries_reached=trained or 0
                )
                continue
            key = (sex,) if group == "sex" else tuple(columns[slot] for slot in _key_slots(GROUPS[group]))
            figures = result.groups[group].setdefault(key, Figures())
            figures.officials.add(sex, officials)
            figures.enrolments.add(sex, enrolments)
            figures.trained.add(sex, trained)
            figures.completed.add(sex, completed)
            figures.attended += int(attended or 0)
            figures.expected += int(held or 0)
            figures.excused += int(excused or 0)
            figures.absent += int(absent or 0)
    return result


def grouped_figures(filters: ReportFilters, group: str, *, now=None) -> dict[tuple, Figures]:
    """{group key: Figures} in one query; the key is a tuple of the group's columns."""
    return report_figures(filters, (group,), now=now).groups[group]


@dataclass(frozen=True)
class EnrolmentFigures:
    """One active enrolment's figures, as every report counts them."""

    held: int
    attended: int
    excused: int
    absent: int
    completed: bool


def enrolment_figures(official_ids, *, now=None) -> dict[int, EnrolmentFigures]:
    """{enrolment id: its figures} for the active enrolments of these officials, in one query, from
    the same rows every report sums (a transcript and the reports cannot disagree)."""
    official_ids = [int(pk) for pk in official_ids]
    if not official_ids:
        return {}
    cte, params = enrolment_figures_cte(ReportFilters(), now=now)
    marks = ", ".join(["%s"] * len(official_ids))
    sql = (
        f"{cte}\nSELECT id, held, attended, excused, absent, completed FROM ef WHERE official_id IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, *official_ids))
        return {
            row[0]: EnrolmentFigures(int(row[1]), int(row[2]), int(row[3]), int(row[4]), bool(row[5]))
            for row in cursor.fetchall()
        }


def programme_figures(filters: ReportFilters, *, now=None) -> Figures:
    return grouped_figures(filters, "programme", now=now).get((), Figures())


def programme_reach(filters: ReportFilters, *, now=None) -> Reach:
    """Courses with active enrolments, sessions held, and ministries with an official who attended."""
    return report_figures(filters, (), reach=True, now=now).reach


@dataclass
class SessionFigures:
    attended: SexSplit = field(default_factory=SexSplit)
    excused: SexSplit = field(default_factory=SexSplit)
    absent: SexSplit = field(default_factory=SexSplit)
    enrolled: SexSplit = field(default_factory=SexSplit)

    @property
    def unmarked(self) -> int:
        return max(self.enrolled.total - self.attended.total - self.excused.total - self.absent.total, 0)

    @property
    def attendance_rate(self) -> float | None:
        """Officials present or late over the officials enrolled in the session's course."""
        return self.attended.total / self.enrolled.total if self.enrolled.total else None

    @property
    def attendance_rate_text(self) -> str:
        return percent(self.attendance_rate)

    def as_dict(self) -> dict:
        return {
            "enrolled": self.enrolled.as_dict(),
            "attended": self.attended.as_dict(),
            "excused": self.excused.as_dict(),
            "absent": self.absent.as_dict(),
            "unmarked": self.unmarked,
            "attendance_rate": _round(self.attendance_rate),
        }


def session_figures(filters: ReportFilters, *, now=None) -> dict[int, SessionFigures]:
    """{held session id: SessionFigures} in one query (sessions with nobody enrolled included).

    The officials enrolled come from the enrolment rollups and the marks from the session rollups
    (per sex and ministry snapshot), both counted with `mark_counts_sql`; an official's page, which
    narrows to some officials, reads their attendance instead.
    """
    if filters.selects_nothing:
        return {}
    if session_reads_rollups(filters):
        sql, params = _session_rollup_sql(filters, now=now)
    else:
        sql, params = _session_attendance_sql(filters, now=now)
    result: dict[int, SessionFigures] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for session_id, sex, enrolled, attended_n, excused, absent in cursor.fetchall():
            figures = result.setdefault(session_id, SessionFigures())
            if sex is None:
                continue
            figures.enrolled.add(sex, enrolled)
            figures.attended.add(sex, attended_n)
            figures.excused.add(sex, excused)
            figures.absent.add(sex, absent)
    return result


_SESSION_ROWS = """
    SELECT h.id, en.sex, en.n, COALESCE(mk.attended, 0), COALESCE(mk.excused, 0), COALESCE(mk.absent, 0)
    FROM held h
    LEFT JOIN enrolled en ON en.course_id = h.course_id
    LEFT JOIN marked mk ON mk.session_id = h.id AND mk.sex = en.sex"""


def _session_rollup_sql(filters: ReportFilters, *, now=None) -> tuple[str, tuple]:
    held_sql, held_params = _sql(held_sessions(filters, now=now).values("id", "course_id"))
    enrol_sql, enrol_params = _sql(rollup_enrolments(filters).values("course_id", "sex"))
    rollup = _q(SessionRollup._meta.db_table)
    ministry = "WHERE sr.ministry_id = %s" if filters.ministry_id is not None else ""
    sql = f"""
    WITH held AS ({held_sql}),
    enrolled AS (SELECT course_id, sex, COUNT(*) AS n FROM ({enrol_sql}) en GROUP BY course_id, sex),
    marked AS (
        SELECT sr.session_id, sr.sex, SUM(sr.attended) AS attended, SUM(sr.excused) AS excused,
               SUM(sr.absent) AS absent
        FROM {rollup} sr
        INNER JOIN held h ON h.id = sr.session_id
        {ministry}
        GROUP BY sr.session_id, sr.sex
    ){_SESSION_ROWS}"""
    ministry_params = (filters.ministry_id,) if filters.ministry_id is not None else ()
    return sql, (*held_params, *enrol_params, *ministry_params)


def _session_attendance_sql(filters: ReportFilters, *, now=None) -> tuple[str, tuple]:
    cte, params = enrolment_figures_cte(filters, now=now)
    attendance = _q(Attendance._meta.db_table)
    sql = f"""{cte},
    enrolled AS (SELECT course_id, sex, COUNT(*) AS n FROM ef GROUP BY course_id, sex),
    marked AS (
        SELECT a.session_id, ef.sex, {mark_counts_sql("a")}
        FROM {attendance} a
        INNER JOIN held h ON h.id = a.session_id
        INNER JOIN ef ON ef.id = a.enrollment_id
        GROUP BY a.session_id, ef.sex
    ){_SESSION_ROWS}"""
    return sql, params


def definitions() -> dict[str, str]:
    """The definitions in words, for the pages, the PDF and the API response."""
    return {
        "held_session": _("A session is held once it has started and was not cancelled."),
        "attendance_rate": _(
            "Sessions attended (present or late) over sessions expected: each active enrolment "
            "times the held sessions of its course."
        ),
        "excused": _("Excused absences are counted apart and are not attendance."),
        "completion": _(
            "An enrolment is completed when the official attended at least the course's completion "
            "threshold (default %(default)s %%) of its held sessions."
        )
        % {"default": round(settings.PCP_COMPLETION_THRESHOLD * 100)},
        "officials": _("Distinct officials; withdrawn enrolments are left out."),
        "trained": _("Officials who attended at least one held session."),
        "enrolments": _(
            "One official in one course: an official in two courses is one official and two "
            "enrolments. Course completions count enrolments, not people."
        ),
        "series_completion": _(
            "An official completes the series when they completed the number of its courses its rule "
            "asks for (by default every course held so far); a course not held yet counts against "
            "nobody. Counted in officials (people); the ministry is the one named on their first "
            "enrolment in the series."
        ),
    }


def definition_terms() -> dict[str, str]:
    """What each definition is called on a page: words, never the keys the API uses."""
    return {
        "held_session": _("Held session"),
        "attendance_rate": _("Attendance rate (attendances)"),
        "excused": _("Excused absences"),
        "completion": _("Course completion (enrolments)"),
        "officials": _("Officials (people)"),
        "trained": _("Officials trained (people)"),
        "enrolments": _("Enrolments"),
        "series_completion": _("Series completion (people)"),
    }


def definition_items() -> list[tuple[str, str]]:
    """(term, definition) pairs for the pages and the PDF."""
    terms = definition_terms()
    return [(terms[key], text) for key, text in definitions().items()]
