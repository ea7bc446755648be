"""Series completion: whether each official completed a project's series of courses.

The one definition, used by the series page, its exports, the reports and the API summary:

- A course of the series is *held* once one of its sessions is held (figures' held rule).
- An official *completed a course* as the reports define it (participants.reports.figures: an
  active enrolment reaching the course's threshold of held sessions); this module sums those rows
  and never re-derives them.
- The series' rule (courses.SeriesCompletionRule) asks for a number of completed courses: by
  default every course held so far, else its `min_courses`. The number required is capped at
  the courses held, so a course not held yet never counts against anyone.
- Nobody completes a series of which no course has been held.
- The officials of a series are those with an active enrolment in one of its courses (withdrawn
  enrolments are left out of the figures, as everywhere); officials who withdrew from every
  course still have a status (not completed) for the matrix.
- An official's ministry for the series is the one named on their first enrolment in it (the
  snapshot, as the other reports group by the ministry named at enrolment).
- Where an official stands (SeriesState, the officials list's filter): *completed* (the rule is
  met); *in progress* (not completed, and an active enrolment in a course still running: not
  cancelled, and a session still to come or none held yet); *not completed* (enrolled in the
  series once, and neither of those: the courses they are in are over, or they withdrew); *not in
  the series* (no enrolment in any of its courses, so no SeriesStatus at all).

Each function issues a fixed number of queries, whatever the number of officials.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course, Project, SeriesCompletionRule, Session
from courses.selectors import sessions_held_filter
from ministries.models import Ministry
from participants.models import Enrollment, Official, Sex
from participants.reports import figures as fig


class SeriesState(TextChoices):
    """Where an official stands in a series (the module's docstring defines each)."""

    COMPLETED = "completed", _("Series completed")
    IN_PROGRESS = "in_progress", _("Series in progress")
    NOT_COMPLETED = "not_completed", _("Series not completed")
    NOT_IN_SERIES = "not_in_series", _("Not in the series")


@dataclass
class SeriesRule:
    """The rule of one series, with what it means today."""

    min_courses: int | None  # None: every course held
    courses: int  # courses in the series
    courses_held: int

    @property
    def required(self) -> int:
        """Completed courses needed now: the rule's number, never more than the courses held."""
        if self.min_courses is None:
            return self.courses_held
        return min(self.min_courses, self.courses_held)

    @property
    def is_default(self) -> bool:
        return self.min_courses is None


@dataclass
class CourseCell:
    """One official in one course of the series."""

    enrolled: bool = False  # an active enrolment
    withdrawn: bool = False
    held: int = 0  # the course's held sessions
    attended: int = 0  # present or late at those
    completed: bool = False

    @property
    def attended_share(self) -> float | None:
        return self.attended / self.held if self.enrolled and self.held else None

    @property
    def attended_share_text(self) -> str:
        return fig.percent(self.attended_share)


@dataclass
class SeriesStatus:
    official_id: int
    sex: str
    ministry_id: int | None = None
    ministry_name_en: str = ""
    ministry_acronym: str = ""
    cells: dict[int, CourseCell] = field(default_factory=dict)
    courses_completed: int = 0
    courses_required: int = 0
    completed: bool = False
    state: str = SeriesState.NOT_COMPLETED

    @property
    def in_series(self) -> bool:
        """Whether the official has an active enrolment in the series (who the figures count)."""
        return any(cell.enrolled for cell in self.cells.values())

    @property
    def courses_enrolled(self) -> int:
        return sum(1 for cell in self.cells.values() if cell.enrolled)

    @property
    def withdrawn_from(self) -> int:
        return sum(1 for cell in self.cells.values() if cell.withdrawn)


def _courses_with_held(courses, now) -> list[Course]:
    held = sessions_held_filter(prefix="sessions__", now=now)
    courses = list(
        courses.annotate(
            sessions_held=Count("sessions", filter=held),
            sessions_planned=Count("sessions", filter=Q(sessions__status=Session.Status.SCHEDULED)),
            # As courses.selectors.sessions_not_started: scheduled, and not started (or undated).
            sessions_to_come=Count(
                "sessions",
                filter=Q(sessions__status=Session.Status.SCHEDULED)
                & (Q(sessions__starts_at__isnull=True) | Q(sessions__starts_at__gt=now)),
            ),
        ).order_by("project_id", "number", "id")
    )
    for course in courses:
        course.is_held = course.sessions_held > 0
        # Still running: an enrolment in it may yet become a completion.
        course.is_running = course.status != Course.Status.CANCELLED and (
            course.sessions_to_come > 0 or not course.is_held
        )
    return courses


def series_courses(project: Project, *, now=None) -> list[Course]:
    """The series' courses in order, with `sessions_held`, `sessions_planned`, `is_held` (one query)."""
    return _courses_with_held(Course.objects.filter(project=project), now or timezone.now())


def _rule(min_courses: int | None, courses: list[Course]) -> SeriesRule:
    return SeriesRule(
        min_courses=min_courses,
        courses=len(courses),
        courses_held=sum(1 for course in courses if course.is_held),
    )


def series_rule(project: Project, courses: list[Course]) -> SeriesRule:
    """The project's rule (the default when none was set) against its courses (one query)."""
    min_courses = (
        SeriesCompletionRule.objects.filter(project=project).values_list("min_courses", flat=True).first()
    )
    return _rule(min_courses, courses)


def _statuses(filters: fig.ReportFilters, enrolments, now) -> dict[tuple[int, int], SeriesStatus]:
    """{(project id, official id): SeriesStatus without its totals}, in one statement joining the
    enrolments to the figures' per-enrolment rows."""
    cte, cte_params = fig.enrolment_figures_cte(filters, now=now)
    enrol_sql, enrol_params = (
        enrolments.order_by()
        .values(
            "id",
            "official_id",
            "course_id",
            "status",
            "enrolled_on",
            "ministry_id",
            "ministry_name_en",
            "ministry_acronym",
            official_sex=F("official__sex"),
            project_id=F("course__project_id"),
        )
        .query.sql_with_params()
    )
    sql = f"""{cte}
    SELECT s.project_id, s.official_id, s.course_id, s.status, s.ministry_id, s.ministry_name_en,
           s.ministry_acronym, s.official_sex,
           COALESCE(ef.held, 0), COALESCE(ef.attended, 0), COALESCE(ef.completed, 0)
    FROM ({enrol_sql}) s LEFT JOIN ef ON ef.id = s.id
    ORDER BY s.official_id, s.enrolled_on, s.id"""
    result: dict[tuple[int, int], SeriesStatus] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, (*cte_params, *enrol_params))
        rows = cursor.fetchall()
    for project_id, official_id, course_id, status, ministry_id, name_en, acronym, sex, *figures in rows:
        held, attended, done = figures
        entry = result.get((project_id, official_id))
        if entry is None:
            # Rows come in enrolment order: the first one names the official's ministry.
            entry = result[project_id, official_id] = SeriesStatus(
                official_id=official_id,
                sex=sex,
                ministry_id=ministry_id,
                ministry_name_en=name_en,
                ministry_acronym=acronym,
            )
        active = status == Enrollment.Status.ENROLLED
        entry.cells[course_id] = CourseCell(
            enrolled=active,
            withdrawn=not active,
            held=int(held),
            attended=int(attended),
            completed=active and bool(done),
        )
    return result


def _judge(entry: SeriesStatus, courses: list[Course], rule: SeriesRule) -> SeriesStatus:
    """The rule applied: completed courses that were held, against the number the rule asks for."""
    held_courses = {course.pk for course in courses if course.is_held}
    entry.courses_completed = sum(
        1 for course_id, cell in entry.cells.items() if cell.completed and course_id in held_courses
    )
    entry.courses_required = rule.required
    entry.completed = rule.courses_held > 0 and entry.courses_completed >= rule.required
    running = {course.pk for course in courses if course.is_running}
    if entry.completed:
        entry.state = SeriesState.COMPLETED
    elif any(cell.enrolled and course_id in running for course_id, cell in entry.cells.items()):
        entry.state = SeriesState.IN_PROGRESS
    else:
        entry.state = SeriesState.NOT_COMPLETED
    return entry


def series_status(
    project: Project, official_ids=None, *, now=None, courses: list[Course] | None = None
) -> dict[int, SeriesStatus]:
    """{official id: SeriesStatus} for every official enrolled in the series (or those asked for).

    Three queries whatever the number of officials: the courses (unless given), the rule, and
    one statement joining every enrolment of the series to the figures' per-enrolment rows.
    """
    now = now or timezone.now()
    courses = courses if courses is not None else series_courses(project, now=now)
    rule = series_rule(project, courses)
    ids = None if official_ids is None else tuple(sorted({int(pk) for pk in official_ids}))
    if ids == ():
        return {}
    enrolments = Enrollment.objects.filter(course__project=project)
    if ids is not None:
        enrolments = enrolments.filter(official_id__in=ids)
    filters = fig.ReportFilters(project_id=project.pk, official_ids=ids)
    return {
        official_id: _judge(entry, courses, rule)
        for (_project_id, official_id), entry in _statuses(filters, enrolments, now).items()
    }


def officials_in_state(project: Project, state: str, *, now=None) -> Q:
    """A condition on Official: those standing in `state` in the series, judged by series_status
    (three queries, whatever the number of officials; the condition itself is one more clause of
    the caller's query)."""
    in_series = Exists(Enrollment.objects.filter(official=OuterRef("pk"), course__project=project))
    if state == SeriesState.NOT_IN_SERIES:
        return ~in_series
    ids = [pk for pk, status in series_status(project, now=now).items() if status.state == state]
    return Q(pk__in=ids)


@dataclass
class OfficialSeries:
    """One series an official is enrolled in, with the rule and where they stand (the transcript)."""

    project: Project
    courses: list[Course]
    rule: SeriesRule
    status: SeriesStatus


def official_series(official_id: int, *, now=None) -> list[OfficialSeries]:
    """Each series the official has an enrolment in, judged by the same rule as the series page.

    Three queries whatever the number of series and courses: the courses of those series with
    their projects, their rules, and the one statement of `series_status`.
    """
    now = now or timezone.now()
    project_ids = Enrollment.objects.filter(official_id=official_id).values("course__project_id")
    by_project, rules = _series_courses_and_rules(project_ids, now)
    if not by_project:
        return []
    statuses = _statuses(
        fig.ReportFilters(official_ids=(official_id,)),
        Enrollment.objects.filter(official_id=official_id),
        now,
    )
    result = []
    for project_id, project_courses in by_project.items():
        entry = statuses.get((project_id, official_id))
        if entry is None:
            continue
        rule = _rule(rules.get(project_id), project_courses)
        result.append(
            OfficialSeries(
                project_courses[0].project, project_courses, rule, _judge(entry, project_courses, rule)
            )
        )
    return result


@dataclass
class SeriesGroup:
    """Officials of the series and those who completed it, split by sex."""

    officials: fig.SexSplit = field(default_factory=fig.SexSplit)
    completed: fig.SexSplit = field(default_factory=fig.SexSplit)

    def add(self, status: SeriesStatus) -> None:
        self.officials.add(status.sex, 1)
        if status.completed:
            self.completed.add(status.sex, 1)

    @property
    def completion_rate(self) -> float | None:
        return self.completed.total / self.officials.total if self.officials.total else None

    @property
    def completion_rate_text(self) -> str:
        return fig.percent(self.completion_rate)

    def as_dict(self) -> dict:
        return {
            "officials": self.officials.as_dict(),
            "completed": self.completed.as_dict(),
            "completion_rate": None if self.completion_rate is None else round(self.completion_rate, 4),
        }


@dataclass
class SeriesFigures:
    """A series' completion for the reports: in total and per ministry (as named at enrolment)."""

    project: Project
    courses: list[Course]
    rule: SeriesRule
    total: SeriesGroup = field(default_factory=SeriesGroup)
    # {(ministry id, English name at enrolment, acronym at enrolment): SeriesGroup}
    by_ministry: dict[tuple, SeriesGroup] = field(default_factory=dict)


def _series_figures(
    project: Project, courses: list[Course], rule: SeriesRule, statuses: dict[int, SeriesStatus]
) -> SeriesFigures:
    """The totals of a series from its officials' statuses: in total and by ministry."""
    result = SeriesFigures(project=project, courses=courses, rule=rule)
    for status in statuses.values():
        if not status.in_series:
            continue
        result.total.add(status)
        key = (status.ministry_id, status.ministry_name_en, status.ministry_acronym)
        result.by_ministry.setdefault(key, SeriesGroup()).add(status)
    result.by_ministry = dict(sorted(result.by_ministry.items(), key=lambda item: (item[0][1], item[0][2])))
    return result


def series_figures(project: Project, *, now=None) -> SeriesFigures:
    """Series completion in total and by ministry, each split by sex, from series_status (4 queries)."""
    courses = series_courses(project, now=now)
    statuses = series_status(project, now=now, courses=courses)
    return _series_figures(project, courses, series_rule(project, courses), statuses)


def _completion_counts(now) -> list[tuple]:
    """Officials of every series, counted in SQL: (project id, ministry id, English name and
    acronym at enrolment, sex, courses completed, officials), over the officials in the series.

    The same facts `_statuses` gives one row per enrolment for, summed per official and then
    counted, so the answer is a few rows per series and ministry whatever the number of officials:
    an official's ministry is that of their first enrolment in the series (by date, then id), the
    courses completed are their active enrolments the figures count as completed (which needs a
    held session, so only held courses count), and they are in the series with an active enrolment.
    """
    cte, cte_params = fig.enrolment_figures_cte(fig.ReportFilters(), now=now)
    enrol_sql, enrol_params = (
        Enrollment.objects.order_by()
        .values(
            "id",
            "official_id",
            "status",
            "enrolled_on",
            "ministry_id",
            "ministry_name_en",
            "ministry_acronym",
            official_sex=F("official__sex"),
            project_id=F("course__project_id"),
        )
        .query.sql_with_params()
    )
    first = "CASE WHEN r.n = 1 THEN r.{} END"
    sql = f"""{cte},
    ranked AS (
        SELECT s.project_id, s.official_id, s.official_sex AS sex, s.ministry_id,
               s.ministry_name_en, s.ministry_acronym,
               ROW_NUMBER() OVER (
                   PARTITION BY s.project_id, s.official_id ORDER BY s.enrolled_on, s.id
               ) AS n,
               CASE WHEN s.status = %s THEN 1 ELSE 0 END AS active,
               CASE WHEN s.status = %s THEN COALESCE(ef.completed, 0) ELSE 0 END AS done
        FROM ({enrol_sql}) s LEFT JOIN ef ON ef.id = s.id
    ),
    per_official AS (
        SELECT r.project_id, r.official_id, MAX(r.sex) AS sex,
               MAX({first.format("ministry_id")}) AS ministry_id,
               MAX({first.format("ministry_name_en")}) AS ministry_name_en,
               MAX({first.format("ministry_acronym")}) AS ministry_acronym,
               MAX(r.active) AS in_series, SUM(r.done) AS done
        FROM ranked r
        GROUP BY r.project_id, r.official_id
    )
    SELECT project_id, ministry_id, ministry_name_en, ministry_acronym, sex, done, COUNT(*)
    FROM per_official
    WHERE in_series = 1
    GROUP BY project_id, ministry_id, ministry_name_en, ministry_acronym, sex, done"""
    active = Enrollment.Status.ENROLLED
    with connection.cursor() as cursor:
        cursor.execute(sql, (*cte_params, active, active, *enrol_params))
        return cursor.fetchall()


def _series_courses_and_rules(project_ids, now) -> tuple[dict[int, list[Course]], dict[int, int]]:
    """The courses (with their held sessions) of the series in `project_ids`, by project, and the
    series' completion rules: two queries whatever the number of series."""
    courses = _courses_with_held(
        Course.objects.filter(project_id__in=project_ids).select_related("project"), now
    )
    by_project: dict[int, list[Course]] = {}
    for course in courses:
        by_project.setdefault(course.project_id, []).append(course)
    rules = (
        dict(
            SeriesCompletionRule.objects.filter(project_id__in=list(by_project)).values_list(
                "project_id", "min_courses"
            )
        )
        if by_project
        else {}
    )
    return by_project, rules


def all_series_figures(*, now=None) -> list[SeriesFigures]:
    """Every series with an enrolment, in project order, for the programme report and the API.

    Three queries whatever the number of series, courses and officials: the courses of those
    series with their projects, their rules, and one statement counting the officials of every
    series by ministry, sex and courses completed (`_completion_counts`, from the rollups). The
    rule is applied to those counts as `_judge` applies it to one official, so the figures are
    those of `series_figures` (tests/series/test_all_series_figures.py); a page listing every
    series must not cost a few statements, nor a row per enrolment, more for each one.
    """
    counts = None
    if now is None:
        # The whole-programme snapshot holds the counts, computed by `_completion_counts` in the
        # background (participants.reports.snapshot); imported here, as it imports this module.
        from participants.reports import snapshot

        counts = snapshot.stored_series_counts()
    now = now or timezone.now()
    with_enrolments = Enrollment.objects.order_by().values("course__project_id")
    by_project, rules = _series_courses_and_rules(with_enrolments, now)
    if not by_project:
        return []
    result = {
        project_id: SeriesFigures(
            project=project_courses[0].project,
            courses=project_courses,
            rule=_rule(rules.get(project_id), project_courses),
        )
        for project_id, project_courses in sorted(by_project.items())
    }
    if counts is None:
        counts = _completion_counts(now)
    for project_id, ministry_id, name_en, acronym, sex, done, officials in counts:
        figures = result.get(project_id)
        if figures is None:  # enrolled since the courses were read
            continue
        rule = figures.rule
        completed = rule.courses_held > 0 and int(done or 0) >= rule.required
        group = figures.by_ministry.setdefault((ministry_id, name_en, acronym), SeriesGroup())
        for counted in (figures.total, group):
            counted.officials.add(sex, officials)
            if completed:
                counted.completed.add(sex, officials)
    for figures in result.values():
        figures.by_ministry = dict(
            sorted(figures.by_ministry.items(), key=lambda item: (item[0][1], item[0][2]))
        )
    return list(result.values())


# --- the matrix: officials × courses -------------------------------------------------------------

# Sort keys of the matrix; "-" in front reverses. Names sort as the officials' list does.
SORTS = ("name", "ministry", "sex", "courses", "series")


@dataclass
class MatrixRow:
    official_id: int
    name: str
    name_km: str
    sex: str
    status: SeriesStatus

    @property
    def sex_label(self) -> str:
        return str(Sex(self.sex).label) if self.sex in Sex.values else self.sex


@dataclass
class SeriesMatrix:
    """The series page's rows (filtered and sorted, every one of them) and its summary figures."""

    project: Project
    courses: list[Course]
    rule: SeriesRule
    rows: list[MatrixRow]
    summary: SeriesGroup
    ministries: dict[int, str]  # the ministries of the series' officials, for the filter

    @property
    def course_completions(self) -> int:
        """Completed courses (enrolments, not people) among the rows."""
        return sum(row.status.courses_completed for row in self.rows)


def series_matrix(
    project: Project, *, ministry_id: int | None = None, sex: str | None = None, sort: str = "name", now=None
) -> SeriesMatrix:
    """Every official of the series as a row of the matrix, filtered and sorted (5 queries).

    The page shows a slice of the rows, the exports all of them: both read this one list.
    Filtering and sorting happen on the rows in memory: they are one per official, and sorting
    by completion needs the completion computed anyway.
    """
    now = now or timezone.now()
    courses = series_courses(project, now=now)
    rule = series_rule(project, courses)
    statuses = series_status(project, now=now, courses=courses)
    officials = Official.objects.filter(
        Exists(Enrollment.objects.filter(official=OuterRef("pk"), course__project=project))
    )
    if sex:
        officials = officials.filter(sex=sex)
    names = officials.order_by("family_name", "given_name", "name_km", "id").values_list(
        "pk", "family_name", "given_name", "name_km", "sex"
    )
    ministry_ids = {status.ministry_id for status in statuses.values()}
    ministries = dict(
        Ministry.objects.filter(pk__in=ministry_ids).order_by("name_en").values_list("pk", "name_en")
    )
    rows = []
    for pk, family_name, given_name, name_km, official_sex in names:
        status = statuses.get(pk)
        if status is None or (ministry_id is not None and status.ministry_id != ministry_id):
            continue
        latin = " ".join(part for part in (family_name.upper(), given_name) if part)
        rows.append(MatrixRow(pk, latin or name_km, name_km if latin else "", official_sex, status))
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    sort_keys = {
        "ministry": lambda row: (row.status.ministry_name_en.casefold(), row.status.ministry_acronym),
        "sex": lambda row: row.sex,
        "courses": lambda row: row.status.courses_completed,
        "series": lambda row: row.status.completed,
    }
    if key in sort_keys:
        rows.sort(key=sort_keys[key], reverse=descending)  # stable: names stay in order within a key
    elif descending:
        rows.reverse()
    summary = SeriesGroup()
    for row in rows:
        if row.status.in_series:
            summary.add(row.status)
    return SeriesMatrix(
        project=project, courses=courses, rule=rule, rows=rows, summary=summary, ministries=ministries
    )
