"""Each report as one table (columns with a kind, typed rows) built from participants.reports.figures.

The pages, the CSV, the XLSX and the PDF all render these tables, so a figure cannot differ
between them. Each builder issues a fixed number of queries (in Khmer mode, one more where the
names that ministries had at enrolment are read in Khmer).

Names and titles (courses, sessions, series, ministries) are in the language of the request that
builds the table, English where no Khmer one is stored: an export made in Khmer mode says them in
Khmer like the page. Numbers and dates stay in Latin digits everywhere for spreadsheets.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Session
from ministries.models import Ministry
from participants.models import Attendance, Enrollment, Sex
from participants.reports import figures as fig
from participants.series import CourseCell, SeriesFigures, SeriesMatrix
from pcp_portal.forms import label_in_language, page_language

TEXT, INT, SHARE, DATE, DATETIME = "text", "int", "share", "date", "datetime"


@dataclass
class Column:
    label: str
    kind: str = TEXT


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list]
    total: list | None = None
    extra: dict = field(default_factory=dict)
    # Set when the figures come from the background snapshot: the time they were computed.
    as_of: datetime.datetime | None = None

    @property
    def headers(self) -> list[str]:
        return [column.label for column in self.columns]

    def all_rows(self) -> list[list]:
        return [*self.rows, self.total] if self.total else list(self.rows)

    def _cells(self, row: list) -> list[tuple[str, bool]]:
        pairs = zip(row, self.columns, strict=True)
        return [(display(value, column.kind), column.kind != TEXT) for value, column in pairs]

    @property
    def display_rows(self) -> list[list[tuple[str, bool]]]:
        """(text, is_number) per cell, as the page and the PDF show them."""
        return [self._cells(row) for row in self.rows]

    @property
    def display_total(self) -> list[tuple[str, bool]] | None:
        return self._cells(self.total) if self.total else None


def display(value, kind: str) -> str:
    if value is None or value == "":
        return "–" if kind != TEXT else ""
    if kind == SHARE:
        return fig.percent(value)
    if kind == INT:
        return f"{value:,}"
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def khmer_names_at_enrolment(names_en) -> dict[str, str]:
    """{English name: Khmer name} of ministries as recorded at enrolment, for the names given;
    empty outside Khmer mode, where no query is made (1 query in Khmer mode)."""
    names_en = {name for name in names_en if name}
    if page_language() != "km" or not names_en:
        return {}
    pairs = (
        Enrollment.objects.filter(ministry_name_en__in=names_en)
        .exclude(ministry_name_km="")
        .order_by()
        .values_list("ministry_name_en", "ministry_name_km")
        .distinct()
    )
    return dict(pairs)


def ministry_label(ministry: Ministry) -> str:
    """The ministry's current name in the page's language (the report tables' row label)."""
    return ministry.name_km if page_language() == "km" and ministry.name_km else ministry.name_en


def _split_columns(what: str) -> list[Column]:
    return [
        Column(_("%(what)s: women") % {"what": what}, INT),
        Column(_("%(what)s: men") % {"what": what}, INT),
        Column(_("%(what)s: other / not stated") % {"what": what}, INT),
        Column(_("%(what)s: total") % {"what": what}, INT),
        Column(_("%(what)s: share of women") % {"what": what}, SHARE),
    ]


def _split_values(split: fig.SexSplit) -> list:
    return [split.women, split.men, split.other, split.total, split.women_share]


def figure_columns() -> list[Column]:
    return [
        *_split_columns(_("Officials (people)")),
        *_split_columns(_("Officials trained (people)")),
        *_split_columns(_("Course completions (enrolments)")),
        Column(_("Course completion rate (enrolments)"), SHARE),
        Column(_("Attendances (sessions attended)"), INT),
        Column(_("Attendances expected"), INT),
        Column(_("Attendance rate (attendances)"), SHARE),
        Column(_("Excused absences (attendances)"), INT),
        Column(_("Absences (attendances)"), INT),
    ]


def figure_values(figures: fig.Figures) -> list:
    return [
        *_split_values(figures.officials),
        *_split_values(figures.trained),
        *_split_values(figures.completed),
        figures.completion_rate,
        figures.attended,
        figures.expected,
        figures.attendance_rate,
        figures.excused,
        figures.absent,
    ]


def programme_table(filters: fig.ReportFilters, *, now=None) -> Table:
    """One row per course and a total row for the programme (2 queries)."""
    report = fig.report_figures(filters, ("course", "programme"), reach=True, now=now)
    by_course = report.groups["course"]
    total = report.groups["programme"].get((), fig.Figures())
    reach = report.reach
    courses = Course.objects.filter(pk__in=[key[0] for key in by_course]).order_by("project_id", "number")
    rows = [[label_in_language(course), *figure_values(by_course[(course.pk,)])] for course in courses]
    return Table(
        name="programme",
        title=_("Programme report"),
        columns=[Column(_("Course")), *figure_columns()],
        rows=rows,
        total=[_("All courses"), *figure_values(total)],
        extra={"figures": total, "reach": reach, "courses": [(c, by_course[(c.pk,)]) for c in courses]},
        as_of=report.as_of,
    )


def ministry_table(filters: fig.ReportFilters, *, now=None) -> Table:
    """Per ministry (the Ministry row, renamed or not), with a row per name valid at the time (2 queries)."""
    report = fig.report_figures(filters, ("ministry", "ministry_name"), now=now)
    totals, by_name = report.groups["ministry"], report.groups["ministry_name"]
    ministries = Ministry.objects.filter(pk__in=[key[0] for key in totals]).order_by("name_en")
    in_khmer = khmer_names_at_enrolment(key[1] for key in by_name)
    rows, groups = [], []
    for ministry in ministries:
        figures = totals[(ministry.pk,)]
        names = sorted((key for key in by_name if key[0] == ministry.pk), key=lambda key: key[1])
        label = ministry_label(ministry)
        rows.append([label, ministry.acronym, _("All names"), "", *figure_values(figures)])
        at_the_time = [(in_khmer.get(key[1], key[1]), key[2], by_name[key]) for key in names]
        for name, acronym, name_figures in at_the_time:
            rows.append([label, ministry.acronym, name, acronym, *figure_values(name_figures)])
        groups.append((ministry, figures, at_the_time))
    return Table(
        name="ministries",
        title=_("Report per ministry"),
        columns=[
            Column(_("Ministry (current name)")),
            Column(_("Acronym")),
            Column(_("Name at the time")),
            Column(_("Acronym at the time")),
            *figure_columns(),
        ],
        rows=rows,
        extra={"groups": groups},
        as_of=report.as_of,
    )


SESSIONS_PER_PAGE = 100


def session_page(filters: fig.ReportFilters, page_number, *, now=None) -> tuple[Table, Page]:
    """One page of the report per session, in start order: the page's held sessions and their
    figures only (4 queries whatever the number of sessions)."""
    now = now or timezone.now()
    held = fig.held_sessions(filters, now=now).order_by("starts_at", "id").values_list("pk", flat=True)
    page = Paginator(held, SESSIONS_PER_PAGE).get_page(page_number)
    table = session_table(dataclasses.replace(filters, session_ids=tuple(page.object_list)), now=now)
    return table, page


def session_table(filters: fig.ReportFilters, *, now=None) -> Table:
    """One row per held session (2 queries)."""
    per_session = fig.session_figures(filters, now=now)
    sessions = (
        Session.objects.filter(pk__in=list(per_session)).select_related("course").order_by("starts_at", "id")
    )
    rows, items = [], []
    for session in sessions:
        figures = per_session[session.pk]
        items.append((session, figures))
        rows.append(
            [
                label_in_language(session.course),
                session.title_in(page_language()),
                timezone.localtime(session.starts_at).replace(tzinfo=None),
                *_split_values(figures.enrolled),
                *_split_values(figures.attended),
                figures.excused.total,
                figures.absent.total,
                figures.unmarked,
                figures.attendance_rate,
            ]
        )
    return Table(
        name="sessions",
        title=_("Report per session"),
        columns=[
            Column(_("Course")),
            Column(_("Session")),
            Column(_("Starts at"), DATETIME),
            *_split_columns(_("Officials enrolled (people)")),
            *_split_columns(_("Officials attended (people)")),
            Column(_("Officials excused (people)"), INT),
            Column(_("Officials absent (people)"), INT),
            Column(_("Officials not marked (people)"), INT),
            Column(_("Attendance rate (attendances)"), SHARE),
        ],
        rows=rows,
        extra={"sessions": items},
    )


def course_matrix(course: Course, filters: fig.ReportFilters, *, contact: bool, now=None) -> Table:
    """Officials × held sessions with each status, attendance rate and completion (4 queries)."""
    filters = fig.ReportFilters(
        course_id=course.pk,
        ministry_id=filters.ministry_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    per_enrolment = fig.grouped_figures(filters, "enrolment", now=now)
    language = page_language()
    khmer = language == "km"
    sessions = list(fig.held_sessions(filters, now=now).order_by("starts_at", "id"))
    enrolments = (
        fig.active_enrolments(filters)
        .select_related("official")
        .order_by("official__family_name", "official__given_name", "id")
    )
    statuses = dict.fromkeys(Attendance.Status.values)
    labels = {value: str(label) for value, label in Attendance.Status.choices}
    marks = {
        (enrollment_id, session_id): status
        for enrollment_id, session_id, status in Attendance.objects.filter(
            enrollment__in=fig.active_enrolments(filters), session__in=fig.held_sessions(filters, now=now)
        )
        # Read into a dict: the model's default ordering would only add a sort of every mark.
        .order_by()
        .values_list("enrollment_id", "session_id", "status")
    }
    rows, matrix = [], []
    for enrollment in enrolments:
        official = enrollment.official
        figures = per_enrolment.get((enrollment.pk,), fig.Figures())
        cells = [marks.get((enrollment.pk, session.pk)) for session in sessions]
        completed = figures.completed.total > 0
        contact_values = [official.email, official.phone] if contact else []
        rows.append(
            [
                official.full_name,
                official.name_km,
                official.get_sex_display(),
                (enrollment.ministry_name_km if khmer else "") or enrollment.ministry_name_en,
                *contact_values,
                *[labels.get(cell, "") if cell in statuses else "" for cell in cells],
                figures.attended,
                figures.expected,
                figures.excused,
                figures.attendance_rate,
                _("yes") if completed else _("no"),
            ]
        )
        matrix.append((enrollment, cells, figures, completed))
    contact_columns = [Column(_("E-mail")), Column(_("Phone"))] if contact else []
    return Table(
        name="course",
        title=_("Course attendance: %(course)s") % {"course": label_in_language(course)},
        columns=[
            Column(_("Official")),
            Column(_("Name in Khmer")),
            Column(_("Sex")),
            Column(_("Ministry at enrolment")),
            *contact_columns,
            *[
                Column(
                    f"{session.title_in(page_language())} ({timezone.localtime(session.starts_at):%Y-%m-%d})"
                )
                for session in sessions
            ],
            Column(_("Sessions attended"), INT),
            Column(_("Sessions held"), INT),
            Column(_("Sessions excused"), INT),
            Column(_("Attendance rate (attendances)"), SHARE),
            Column(_("Completed the course")),
        ],
        rows=rows,
        extra={"sessions": sessions, "matrix": matrix, "labels": labels},
    )


def attendance_columns(*, contact: bool) -> list[Column]:
    columns = [
        Column(_("Course number"), INT),
        Column(_("Course")),
        Column(_("Session")),
        Column(_("Session starts at"), DATETIME),
        Column(_("Family name")),
        Column(_("Given name")),
        Column(_("Name in Khmer")),
        Column(_("Sex")),
        Column(_("Ministry at enrolment")),
        Column(_("Ministry acronym at enrolment")),
        Column(_("Status")),
    ]
    if contact:
        columns += [Column(_("E-mail")), Column(_("Phone"))]
    return columns


def attendance_selection(filters: fig.ReportFilters, *, now=None):
    """The attendance rows the attendance export holds: at held sessions, of active enrolments."""
    return Attendance.objects.filter(
        enrollment__in=fig.active_enrolments(filters), session__in=fig.held_sessions(filters, now=now)
    )


def attendance_rows(filters: fig.ReportFilters, *, contact: bool, now=None, chunk_size: int = 5000):
    """Every attendance row at the held sessions of the selection, streamed in id order (1 query)."""
    fields = [
        "session__course__number",
        "session__course__title",
        "session__title",
        "session__starts_at",
        "enrollment__official__family_name",
        "enrollment__official__given_name",
        "enrollment__official__name_km",
        "enrollment__official__sex",
        "enrollment__ministry_name_en",
        "enrollment__ministry_acronym",
        "status",
    ]
    # In Khmer mode the titles and the ministry come in Khmer where stored: read beside the
    # English ones (the last three values) and put in their place.
    khmer = page_language() == "km"
    in_khmer = (
        ["session__course__title_km", "session__title_km", "enrollment__ministry_name_km"] if khmer else []
    )
    if contact:
        fields += ["enrollment__official__email", "enrollment__official__phone"]
    queryset = attendance_selection(filters, now=now).order_by("id").values_list(*fields, *in_khmer)
    for row in queryset.iterator(chunk_size=chunk_size):
        row = list(row)
        if khmer:
            course_km, session_km, ministry_km = row[-3:]
            row = row[:-3]
            row[1], row[2], row[8] = course_km or row[1], session_km or row[2], ministry_km or row[8]
        row[3] = timezone.localtime(row[3]).replace(tzinfo=None) if row[3] else None
        yield row


# --- the series ----------------------------------------------------------------------------------


def course_cell_state(cell: CourseCell | None, course: Course) -> str:
    """One official in one course of the series, in words (the matrix page and its exports)."""
    if cell is None:
        return _("not enrolled")
    if cell.withdrawn:
        return _("withdrawn")
    if not course.is_held:
        return _("enrolled, course not held yet")
    return _("completed") if cell.completed else _("not completed")


def series_matrix_table(matrix: SeriesMatrix) -> Table:
    """Every row of the series matrix (filtered and sorted as on the page), for the CSV and XLSX."""
    per_course: list[Column] = []
    for course in matrix.courses:
        label = _("Course %(number)s") % {"number": course.number}
        per_course += [
            Column(_("%(course)s: status") % {"course": label}),
            Column(_("%(course)s: sessions attended (attendances)") % {"course": label}, INT),
            Column(_("%(course)s: sessions held") % {"course": label}, INT),
            Column(_("%(course)s: share of held sessions attended") % {"course": label}, SHARE),
        ]
    sexes = {value: str(label) for value, label in Sex.choices}
    in_khmer = khmer_names_at_enrolment(row.status.ministry_name_en for row in matrix.rows)
    rows = []
    for row in matrix.rows:
        status = row.status
        values = [
            row.name,
            row.name_km,
            sexes.get(row.sex, row.sex),
            in_khmer.get(status.ministry_name_en, status.ministry_name_en),
            status.ministry_acronym,
        ]
        for course in matrix.courses:
            cell = status.cells.get(course.pk)
            active = cell is not None and cell.enrolled
            values += [
                course_cell_state(cell, course),
                cell.attended if active else None,
                cell.held if active else None,
                cell.attended_share if active else None,
            ]
        values += [
            status.courses_completed,
            status.courses_required,
            _("yes") if status.completed else _("no"),
        ]
        rows.append(values)
    return Table(
        name="series",
        title=_("Series: %(project)s") % {"project": label_in_language(matrix.project)},
        columns=[
            Column(_("Official")),
            Column(_("Name in Khmer")),
            Column(_("Sex")),
            Column(_("Ministry at first enrolment in the series")),
            Column(_("Acronym at the time")),
            *per_course,
            Column(_("Courses completed (per official)"), INT),
            Column(_("Courses required"), INT),
            Column(_("Completed the series")),
        ],
        rows=rows,
    )


def _series_values(group) -> list:
    return [*_split_values(group.officials), *_split_values(group.completed), group.completion_rate]


def series_completion_table(all_figures: list[SeriesFigures]) -> Table:
    """Series completion per series, in total and per ministry named at enrolment, split by sex."""
    in_khmer = khmer_names_at_enrolment(key[1] for figures in all_figures for key in figures.by_ministry)
    rows = []
    for figures in all_figures:
        series = label_in_language(figures.project)
        rows.append([series, _("All ministries"), "", *_series_values(figures.total)])
        for (_pk, name_en, acronym), group in figures.by_ministry.items():
            rows.append([series, in_khmer.get(name_en, name_en), acronym, *_series_values(group)])
    return Table(
        name="series_completion",
        title=_("Series completion"),
        columns=[
            Column(_("Series")),
            Column(_("Ministry at first enrolment in the series")),
            Column(_("Acronym at the time")),
            *_split_columns(_("Officials in the series")),
            *_split_columns(_("Officials who completed the series")),
            Column(_("Series completion rate (officials)"), SHARE),
        ],
        rows=rows,
        extra={"series": all_figures},
    )
