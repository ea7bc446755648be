"""Actuals of the results framework, from the reports' own figures.

Each computed indicator names a definition below; every definition reads the figures of
`participants.reports.figures.report_figures` (the one place attendance, training and completion
are defined), so an indicator and the programme report can never disagree. What the definition
adds is which of those figures it reads, and the words a footnote shows.

Two definitions read other selectors, each again the one definition of its figure: completing
the series reads `participants.series.series_status` (the series page's rule), and knowledge gain
reads `participants.surveys.selectors.course_knowledge_gains` (the surveys' paired gain).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Indicator, IndicatorPeriod, Result
from ministries.models import Ministry
from participants import series
from participants.reports import figures as fig
from participants.surveys.selectors import course_knowledge_gains
from pcp_portal.forms import label_in_language, page_language


@dataclass(frozen=True)
class Value:
    """An actual (or a target) for everyone, with the women's and men's part where it splits by sex."""

    total: Decimal | None
    women: Decimal | None = None
    men: Decimal | None = None


def _number(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _share(value: float | None) -> Decimal | None:
    """A share as a percentage with two decimals, as IATI and the target are written."""
    if value is None:
        return None
    return (Decimal(str(value)) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _split(split: fig.SexSplit) -> Value:
    return Value(_number(split.total), _number(split.women), _number(split.men))


def _sex_rate(report: fig.Report, sex: str) -> Decimal | None:
    figures = report.groups["sex"].get((sex,))
    return _share(figures.attendance_rate) if figures else None


@dataclass(frozen=True)
class Definition:
    """A named figure: `compute` reads the reports' figures for the indicator's filters, or, for
    the figures of the series and the surveys, `compute_with` gets the calculator itself."""

    name: str
    compute: Callable[[fig.Report], Value] | None
    text: Callable[[], str]
    compute_with: (
        Callable[[ActualsCalculator, Indicator, datetime.date, datetime.date, int | None], Value] | None
    ) = None


def _programme(report: fig.Report) -> fig.Figures:
    return report.groups["programme"].get((), fig.Figures())


DEFINITIONS: dict[str, Definition] = {
    definition.name: definition
    for definition in (
        Definition(
            "trained",
            lambda report: _split(_programme(report).trained),
            lambda: _("Officials trained: distinct officials who attended at least one held session."),
        ),
        Definition(
            "completed",
            lambda report: _split(_programme(report).completed),
            lambda: _(
                "Officials completing a course: enrolments whose attended sessions reach the course's "
                "completion threshold of its held sessions (an official completing two courses counts twice)."
            ),
        ),
        Definition(
            "series_completed",
            None,
            lambda: _(
                "Officials completing the series: distinct officials who, by the end of the period, "
                "completed as many courses of the series as its rule asks, counting only the courses "
                "held by then (a course not yet held never counts against anyone)."
            ),
            compute_with=lambda calculator, indicator, start, end, ministry_id: calculator.series_completed(
                indicator, end, ministry_id
            ),
        ),
        Definition(
            "knowledge_gain",
            None,
            lambda: _(
                "Knowledge gain: the mean rise, in percentage points of each test's maximum score, from the "
                "pre-test to the post-test of the course, among officials who answered both, counting the "
                "post-tests answered within the period."
            ),
            compute_with=lambda calculator, indicator, start, end, ministry_id: calculator.knowledge_gain(
                indicator, start, end, ministry_id
            ),
        ),
        Definition(
            "women_share",
            lambda report: Value(_share(_programme(report).trained.women_share)),
            lambda: _(
                "Women's share of officials trained: women trained over all officials trained, in per cent."
            ),
        ),
        Definition(
            "ministries",
            lambda report: Value(_number(report.reach.ministries_reached if report.reach else 0)),
            lambda: _(
                "Ministries represented: ministries with at least one official who attended a held session."
            ),
        ),
        Definition(
            "attendance_rate",
            lambda report: Value(
                _share(_programme(report).attendance_rate),
                _sex_rate(report, "female"),
                _sex_rate(report, "male"),
            ),
            lambda: _(
                "Attendance rate: sessions attended (present or late) over sessions expected, in per cent."
            ),
        ),
    )
}


def indicator_filters(
    indicator: Indicator, start: datetime.date, end: datetime.date, ministry_id: int | None = None
) -> fig.ReportFilters:
    """The report's filters for an indicator's period; `ministry_id` narrows it to one ministry's
    officials (a ministry's line on the progress page), else the indicator's own ministry, if any."""
    return fig.ReportFilters(
        course_id=indicator.course_id,
        ministry_id=ministry_id or indicator.ministry_id,
        date_from=start,
        date_to=end,
    )


class ActualsCalculator:
    """Computes actuals, sharing one report query between indicators with the same filters.

    A framework of many indicators over the same periods asks the database once per distinct
    (course, ministry, period), whatever the number of attendance rows.
    """

    def __init__(self, *, now=None) -> None:
        self.now = now or timezone.now()
        self._reports: dict[fig.ReportFilters, fig.Report] = {}
        self._series: dict[tuple[int, datetime.datetime], dict] = {}

    def report(self, filters: fig.ReportFilters) -> fig.Report:
        if filters not in self._reports:
            self._reports[filters] = fig.report_figures(
                filters, ("programme", "sex"), reach=True, now=self.now
            )
        return self._reports[filters]

    def computed(
        self, indicator: Indicator, start: datetime.date, end: datetime.date, ministry_id: int | None = None
    ) -> Value:
        """The indicator's actual for a period, for its own filters or, given `ministry_id`, for
        that ministry's officials only: the same definition, one more filter."""
        definition = DEFINITIONS[indicator.definition]
        if definition.compute_with is not None:
            return definition.compute_with(self, indicator, start, end, ministry_id)
        return definition.compute(self.report(indicator_filters(indicator, start, end, ministry_id)))

    def _end_of(self, day: datetime.date) -> datetime.datetime:
        """The first moment after `day` in Phnom Penh time, never later than now."""
        after = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(), tzinfo=timezone.get_current_timezone()
        )
        return min(after, self.now)

    def series_completed(
        self, indicator: Indicator, end: datetime.date, ministry_id: int | None = None
    ) -> Value:
        """Officials who completed the series by the end of the period (a cumulative figure): the
        series page's statuses as they stood then, one series_status per series and date."""
        project = indicator.course.project if indicator.course_id else indicator.result.project
        at = self._end_of(end)
        key = (project.pk, at)
        if key not in self._series:
            self._series[key] = series.series_status(project, now=at)
        ministry_id = ministry_id or indicator.ministry_id
        split = fig.SexSplit()
        for status in self._series[key].values():
            if status.completed and (ministry_id is None or status.ministry_id == ministry_id):
                split.add(status.sex, 1)
        return _split(split)

    def knowledge_gain(
        self, indicator: Indicator, start: datetime.date, end: datetime.date, ministry_id: int | None = None
    ) -> Value:
        """The mean gain of the course's paired tests answered in the period, for everyone and by sex."""
        start_at = datetime.datetime.combine(start, datetime.time(), tzinfo=timezone.get_current_timezone())
        rows = course_knowledge_gains(
            indicator.course_id,
            answered_from=start_at,
            answered_to=self._end_of(end),
            ministry_id=ministry_id or indicator.ministry_id,
        )

        def mean(sex: str | None) -> Decimal | None:
            gains = [row.gain_points for row in rows if sex is None or row.sex == sex]
            if not gains:
                return None
            return Decimal(str(sum(gains) / len(gains))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

        return Value(mean(None), mean("female"), mean("male"))


def footnote(indicator: Indicator) -> str:
    """How the actual is obtained, in words, with its filter."""
    if indicator.source == Indicator.Source.ENTERED:
        return _("Entered by hand by staff, with a note and an attachment as evidence for each period.")
    parts = [DEFINITIONS[indicator.definition].text()]
    if indicator.course_id:
        parts.append(_("Only course %(course)s.") % {"course": label_in_language(indicator.course)})
    if indicator.ministry_id:
        parts.append(
            _("Only officials of %(ministry)s.") % {"ministry": indicator.ministry.name_in(page_language())}
        )
    parts.append(
        _("Counted over the sessions held within each period. Source: the portal's attendance register.")
    )
    return " ".join(parts)


# --- progress ------------------------------------------------------------------------------------

ON_TRACK_SHARE = Decimal(75)


def _percent(actual: Decimal | None, target: Decimal | None) -> Decimal | None:
    if target in (None, 0) or actual is None:
        return None
    return (actual / target * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class MinistryProgress:
    """One ministry's line for a period: its target, if the framework sets one, beside its actual."""

    ministry: Ministry
    target: Decimal | None
    actual: Value

    @property
    def percent_of_target(self) -> Decimal | None:
        return _percent(self.actual.total, self.target)


@dataclass
class PeriodProgress:
    start: datetime.date
    end: datetime.date
    target: Value
    actual: Value
    notes: list[str] = field(default_factory=list)
    evidence: list = field(default_factory=list)
    today: datetime.date | None = None
    ministries: list[MinistryProgress] = field(default_factory=list)

    @property
    def percent_of_target(self) -> Decimal | None:
        return _percent(self.actual.total, self.target.total)

    @property
    def status(self) -> str:
        """A traffic light: achieved (green), on track (amber: 75 % of the target or more, or the
        period has not ended), behind (red), or not started."""
        if self.today and self.start > self.today:
            return "not_started"
        percent = self.percent_of_target
        if percent is None:
            return "no_data"
        if percent >= 100:
            return "achieved"
        if percent >= ON_TRACK_SHARE or (self.today and self.end >= self.today):
            return "on_track"
        return "behind"


STATUSES = ("achieved", "on_track", "behind", "not_started", "no_data")


def status_label(status: str) -> str:
    labels = {
        "achieved": _("Achieved"),
        "on_track": _("On track"),
        "behind": _("Behind"),
        "not_started": _("Not started"),
        "no_data": _("No data"),
    }
    return labels[status]


@dataclass
class IndicatorProgress:
    indicator: Indicator
    footnote: str
    periods: list[PeriodProgress]
    # The ministries the framework sets a target for on this indicator: each period has a line for each.
    ministries: list[Ministry] = field(default_factory=list)


@dataclass
class ResultProgress:
    result: Result
    depth: int
    indicators: list[IndicatorProgress]


def framework_results(*, project=None, programme=None):
    """The results of a project (or of the programme when no project is given), with their
    indicators and target periods prefetched: a fixed number of queries."""
    queryset = Result.objects.select_related("project", "parent")
    queryset = (
        queryset.filter(project=project) if project is not None else queryset.filter(project__isnull=True)
    )
    if programme is not None:
        queryset = queryset.filter(programme=programme)
    return queryset.prefetch_related(
        Prefetch(
            "indicators",
            queryset=Indicator.objects.select_related(
                "course__project", "ministry", "result__project"
            ).prefetch_related(
                Prefetch(
                    "periods",
                    queryset=IndicatorPeriod.objects.select_related("ministry").order_by(
                        "period_start", "period_end", "sex", "ministry__name_en"
                    ),
                )
            ),
        )
    )


def tree_order(results: Iterable[Result]) -> list[tuple[Result, int]]:
    """Results depth first, each under the result it contributes to."""
    results = list(results)
    children: dict[int | None, list[Result]] = {}
    known = {result.pk for result in results}
    for result in results:
        parent = result.parent_id if result.parent_id in known else None
        children.setdefault(parent, []).append(result)
    ordered: list[tuple[Result, int]] = []

    def visit(parent: int | None, depth: int) -> None:
        for result in children.get(parent, []):
            ordered.append((result, depth))
            visit(result.pk, depth + 1)

    visit(None, 0)
    return ordered


def _entered(rows: list[IndicatorPeriod]) -> Value:
    by_sex = {row.sex: row.actual_value for row in rows if row.ministry_id is None}
    return Value(by_sex.get(""), by_sex.get("female"), by_sex.get("male"))


def _ministry_lines(
    indicator: Indicator,
    calculator: ActualsCalculator,
    ministries: list[Ministry],
    start: datetime.date,
    end: datetime.date,
    rows: list[IndicatorPeriod],
) -> list[MinistryProgress]:
    """A line per ministry the indicator sets a target for (in any of its periods): the computed
    actual narrowed to that ministry (one report per distinct course, ministry and period, shared
    by every indicator asking for it), or the actual entered on that ministry's row."""
    by_ministry = {row.ministry_id: row for row in rows if row.ministry_id is not None}
    lines = []
    for ministry in ministries:
        row = by_ministry.get(ministry.pk)
        if indicator.source == Indicator.Source.COMPUTED:
            actual = calculator.computed(indicator, start, end, ministry.pk)
        else:
            actual = Value(row.actual_value if row else None)
        lines.append(MinistryProgress(ministry, row.target_value if row else None, actual))
    return lines


def indicator_progress(indicator: Indicator, calculator: ActualsCalculator) -> IndicatorProgress:
    grouped: dict[tuple[datetime.date, datetime.date], list[IndicatorPeriod]] = {}
    ministries: dict[int, Ministry] = {}
    for row in indicator.periods.all():
        grouped.setdefault((row.period_start, row.period_end), []).append(row)
        if row.ministry_id is not None:
            ministries.setdefault(row.ministry_id, row.ministry)
    ordered_ministries = sorted(ministries.values(), key=lambda ministry: (ministry.name_en, ministry.pk))
    today = timezone.localdate(calculator.now)
    periods = []
    for (start, end), rows in grouped.items():
        targets = {row.sex: row.target_value for row in rows if row.ministry_id is None}
        target = Value(targets.get(""), targets.get("female"), targets.get("male"))
        if indicator.source == Indicator.Source.COMPUTED:
            actual = calculator.computed(indicator, start, end)
        else:
            actual = _entered(rows)
        periods.append(
            PeriodProgress(
                start=start,
                end=end,
                target=target,
                actual=actual,
                notes=[row.actual_note for row in rows if row.actual_note],
                evidence=[row.actual_evidence for row in rows if row.actual_evidence],
                today=today,
                ministries=_ministry_lines(indicator, calculator, ordered_ministries, start, end, rows),
            )
        )
    return IndicatorProgress(
        indicator=indicator, footnote=footnote(indicator), periods=periods, ministries=ordered_ministries
    )


def framework_progress(*, project=None, programme=None, now=None) -> list[ResultProgress]:
    calculator = ActualsCalculator(now=now)
    results = framework_results(project=project, programme=programme)
    return [
        ResultProgress(
            result=result,
            depth=depth,
            indicators=[indicator_progress(indicator, calculator) for indicator in result.indicators.all()],
        )
        for result, depth in tree_order(results)
    ]
