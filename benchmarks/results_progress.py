"""The results framework's progress at scale: 30 computed indicators × 6 periods over 100,000
attendance rows, the portal (`framework_progress`, and the whole progress page through Django's test
client) against the same actuals from one hand-written SQL query per indicator (the issue's
baseline), and from one query per distinct filter (a stronger one). All three are checked to give
the same numbers before anything is timed. Writes its figures to benchmarks/RESULTS.md
(section "Results framework progress").

    createdb -h 127.0.0.1 -U postgres pcp_bench_results
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_results \
        .venv/bin/python -m benchmarks.results_progress
"""

from __future__ import annotations

import datetime
import os
import sys
from decimal import ROUND_HALF_UP, Decimal

# The repository's root on the path, so that `python benchmarks/results_progress.py` finds the apps too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.dataset import BENCH_MARKER, build
from benchmarks.reports import interleaved_medians, machine
from benchmarks.results_file import write_section
from courses.models import Course, Indicator, IndicatorPeriod, Project, Result
from courses.services import framework_save
from ministries.models import Ministry
from participants.reports.figures import default_threshold
from participants.results.actuals import Value, framework_progress
from pcp_portal import roles

OFFICIALS, COURSES, SESSIONS, ENROLLED = 5000, 50, 10, 200  # 50 × 10 × 200 = 100,000 attendance rows
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
GOAL = 1.5
FRAMEWORK_TITLE = "Benchmark framework"
# Six periods of ten days over the data set's two months of sessions (course c starts on day c).
PERIODS = [
    (
        datetime.date(2019, 1, 1) + datetime.timedelta(days=10 * n),
        datetime.date(2019, 1, 1) + datetime.timedelta(days=10 * n + 9),
    )
    for n in range(6)
]
DEFINITIONS = ("trained", "completed", "women_share", "ministries", "attendance_rate")
PERCENTAGES = ("women_share", "attendance_rate")

# --- the baseline: one plain query per indicator, every period at once ---------------------------
#
# `p` lists the periods with their bounds as instants (local midnight in Phnom Penh); `held` is
# every held session of each period (started, not cancelled), narrowed to the indicator's course.
# Each query then counts what its definition asks, grouped by period and sex.

HELD = """
WITH p(n, lo, hi) AS (VALUES {periods}),
held AS (
    SELECT p.n, s.id, s.course_id FROM courses_session s JOIN p ON s.starts_at >= p.lo AND s.starts_at < p.hi
    WHERE s.status <> 'cancelled' AND s.starts_at <= now() {course}
)"""

# Officials (and ministries) with at least one attended held session, by period and sex.
TRAINED = (
    HELD
    + """
SELECT h.n, o.sex, COUNT(DISTINCT e.official_id)
FROM participants_attendance a
JOIN held h ON h.id = a.session_id
JOIN participants_enrollment e ON e.id = a.enrollment_id
JOIN participants_official o ON o.id = e.official_id
WHERE a.status IN ('present', 'late') AND e.status = 'enrolled' {ministry}
GROUP BY h.n, o.sex"""
)

# Every active enrolment of a course with a held session in the period: its attended sessions
# against the course's held sessions in the period (completion, and the rate's denominator).
PER_ENROLMENT = (
    HELD
    + """,
hc AS (SELECT n, course_id, COUNT(*) AS held FROM held GROUP BY n, course_id),
m AS (
    SELECT h.n, a.enrollment_id, COUNT(*) AS attended FROM participants_attendance a
    JOIN held h ON h.id = a.session_id WHERE a.status IN ('present', 'late')
    GROUP BY h.n, a.enrollment_id)
SELECT hc.n, o.sex,
       COUNT(*) FILTER (WHERE COALESCE(m.attended, 0) * 100
                        >= ROUND(COALESCE(c.completion_threshold, %(threshold)s) * 100) * hc.held),
       SUM(COALESCE(m.attended, 0)), SUM(hc.held)
FROM hc
JOIN participants_enrollment e ON e.course_id = hc.course_id AND e.status = 'enrolled'
JOIN courses_course c ON c.id = e.course_id
JOIN participants_official o ON o.id = e.official_id
LEFT JOIN m ON m.n = hc.n AND m.enrollment_id = e.id
WHERE TRUE {ministry}
GROUP BY hc.n, o.sex"""
)


def _bounds() -> tuple[str, dict]:
    tz = timezone.get_current_timezone()
    params, rows = {}, []
    for n, (start, end) in enumerate(PERIODS):
        params[f"lo{n}"] = datetime.datetime.combine(start, datetime.time(), tzinfo=tz)
        params[f"hi{n}"] = datetime.datetime.combine(
            end + datetime.timedelta(days=1), datetime.time(), tzinfo=tz
        )
        rows.append(f"({n}, %(lo{n})s::timestamptz, %(hi{n})s::timestamptz)")
    return ", ".join(rows), params


def _pct(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _by_sex(indicator: Indicator) -> dict[tuple, Value]:
    periods, params = _bounds()
    course = "AND s.course_id = %(course)s" if indicator.course_id else ""
    ministry = "AND e.ministry_id = %(ministry)s" if indicator.ministry_id else ""
    params.update(course=indicator.course_id, ministry=indicator.ministry_id, threshold=default_threshold())
    template = TRAINED if indicator.definition in ("trained", "women_share") else PER_ENROLMENT
    with connection.cursor() as cursor:
        cursor.execute(template.format(periods=periods, course=course, ministry=ministry), params)
        rows = cursor.fetchall()
    by_period: dict[int, dict[str, tuple]] = {}
    for n, sex, *numbers in rows:
        by_period.setdefault(n, {})[sex] = numbers
    out = {}
    for n, period in enumerate(PERIODS):
        sexes = by_period.get(n, {})

        def total(index, sexes=sexes):
            return sum(numbers[index] or 0 for numbers in sexes.values())

        def of(sex, index, sexes=sexes):
            return sexes[sex][index] if sex in sexes else 0

        if indicator.definition in ("trained", "completed"):
            value = Value(Decimal(total(0)), Decimal(of("female", 0)), Decimal(of("male", 0)))
        elif indicator.definition == "women_share":
            value = Value(_pct(of("female", 0), total(0)))
        else:  # attendance_rate
            value = Value(
                _pct(total(1), total(2)),
                _pct(of("female", 1), of("female", 2)),
                _pct(of("male", 1), of("male", 2)),
            )
        out[period] = value
    return out


# Ministries represented: distinct ministries over every sex at once, so grouped by period only.
MINISTRIES = (
    HELD
    + """
SELECT h.n, COUNT(DISTINCT e.ministry_id)
FROM participants_attendance a
JOIN held h ON h.id = a.session_id
JOIN participants_enrollment e ON e.id = a.enrollment_id
WHERE a.status IN ('present', 'late') AND e.status = 'enrolled' {ministry}
GROUP BY h.n"""
)


def hand_indicator(indicator: Indicator) -> dict[tuple, Value]:
    """One query for one indicator, every period at once: {(start, end): Value}."""
    if indicator.definition != "ministries":
        return _by_sex(indicator)
    periods, params = _bounds()
    course = "AND s.course_id = %(course)s" if indicator.course_id else ""
    ministry = "AND e.ministry_id = %(ministry)s" if indicator.ministry_id else ""
    params.update(course=indicator.course_id, ministry=indicator.ministry_id)
    with connection.cursor() as cursor:
        cursor.execute(MINISTRIES.format(periods=periods, course=course, ministry=ministry), params)
        counts = dict(cursor.fetchall())
    return {period: Value(Decimal(counts.get(n, 0))) for n, period in enumerate(PERIODS)}


# --- a second, stronger baseline: one query per distinct filter ---------------------------------
#
# The five definitions read the same per-enrolment figures, so an expert who knows that writes one
# query per filter (everyone, a course, a ministry) giving every definition for every period: 6
# queries for the 30 indicators, against the portal's one per filter and period.

PER_FILTER = (
    HELD
    + """,
hc AS (SELECT n, course_id, COUNT(*) AS held FROM held GROUP BY n, course_id),
m AS (
    SELECT h.n, a.enrollment_id, COUNT(*) AS attended FROM participants_attendance a
    JOIN held h ON h.id = a.session_id WHERE a.status IN ('present', 'late')
    GROUP BY h.n, a.enrollment_id),
ef AS (
    SELECT hc.n, e.official_id, e.ministry_id, o.sex, hc.held, COALESCE(m.attended, 0) AS attended,
           COALESCE(m.attended, 0) * 100
               >= ROUND(COALESCE(c.completion_threshold, %(threshold)s) * 100) * hc.held AS completed
    FROM hc
    JOIN participants_enrollment e ON e.course_id = hc.course_id AND e.status = 'enrolled'
    JOIN courses_course c ON c.id = e.course_id
    JOIN participants_official o ON o.id = e.official_id
    LEFT JOIN m ON m.n = hc.n AND m.enrollment_id = e.id
    WHERE TRUE {ministry})
SELECT n, sex, COUNT(DISTINCT official_id) FILTER (WHERE attended > 0),
       COUNT(*) FILTER (WHERE completed), SUM(attended), SUM(held), NULL
FROM ef GROUP BY n, sex
UNION ALL
SELECT n, NULL, NULL, NULL, NULL, NULL, COUNT(DISTINCT ministry_id) FILTER (WHERE attended > 0)
FROM ef GROUP BY n"""
)


def hand_per_filter(indicators: list[Indicator]) -> dict[int, dict[tuple, Value]]:
    """{indicator pk: {(start, end): Value}} from one query per distinct (course, ministry)."""
    periods, bounds = _bounds()
    figures: dict[tuple, dict[int, dict]] = {}
    for key in {(indicator.course_id, indicator.ministry_id) for indicator in indicators}:
        course_id, ministry_id = key
        params = {**bounds, "course": course_id, "ministry": ministry_id, "threshold": default_threshold()}
        sql = PER_FILTER.format(
            periods=periods,
            course="AND s.course_id = %(course)s" if course_id else "",
            ministry="AND e.ministry_id = %(ministry)s" if ministry_id else "",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            by_period: dict[int, dict] = {}
            for n, sex, trained, completed, attended, held, ministries in cursor.fetchall():
                part = by_period.setdefault(n, {"sexes": {}, "ministries": 0})
                if ministries is not None:
                    part["ministries"] = ministries
                else:
                    part["sexes"][sex] = (trained, completed, attended, held)
        figures[key] = by_period
    out = {}
    for indicator in indicators:
        by_period = figures[(indicator.course_id, indicator.ministry_id)]
        values = {}
        for n, period in enumerate(PERIODS):
            part = by_period.get(n, {"sexes": {}, "ministries": 0})
            sexes = part["sexes"]

            def total(index, sexes=sexes):
                return sum(numbers[index] or 0 for numbers in sexes.values())

            def of(sex, index, sexes=sexes):
                return sexes[sex][index] if sex in sexes else 0

            definition = indicator.definition
            if definition in ("trained", "completed"):
                index = 0 if definition == "trained" else 1
                values[period] = Value(
                    Decimal(total(index)), Decimal(of("female", index)), Decimal(of("male", index))
                )
            elif definition == "women_share":
                values[period] = Value(_pct(of("female", 0), total(0)))
            elif definition == "ministries":
                values[period] = Value(Decimal(part["ministries"]))
            else:
                values[period] = Value(
                    _pct(total(2), total(3)),
                    _pct(of("female", 2), of("female", 3)),
                    _pct(of("male", 2), of("male", 3)),
                )
        out[indicator.pk] = values
    return out


def framework(project: Project) -> list[Indicator]:
    """30 computed indicators (5 definitions × 6 filters: none, three courses, two ministries),
    each with a target for each of the 6 periods; made once through the framework's one door."""
    existing = Result.objects.filter(project=project, title_en=FRAMEWORK_TITLE).first()
    if existing:
        return list(existing.indicators.order_by("pk"))
    courses = list(Course.objects.filter(project=project).order_by("number")[:3])
    ministries = list(Ministry.objects.filter(dissolved_on__isnull=True).order_by("pk")[:2])
    result = framework_save(
        instance=Result(
            programme_id=project.programme_id,
            project=project,
            level=Result.Level.OUTPUT,
            title_en=FRAMEWORK_TITLE,
        )
    )
    filters = [{}, *({"course": c} for c in courses), *({"ministry": m} for m in ministries)]
    made = []
    for position, (definition, where) in enumerate(
        (definition, where) for where in filters for definition in DEFINITIONS
    ):
        percentage = definition in PERCENTAGES
        indicator = framework_save(
            instance=Indicator(
                result=result,
                title_en=f"{definition} {position}",
                measure=Indicator.Measure.PERCENTAGE if percentage else Indicator.Measure.UNIT,
                source=Indicator.Source.COMPUTED,
                definition=definition,
                position=position,
                **where,
            )
        )
        for start, end in PERIODS:
            framework_save(
                instance=IndicatorPeriod(
                    indicator=indicator,
                    period_start=start,
                    period_end=end,
                    target_value=Decimal(50 if percentage else 100),
                )
            )
        made.append(indicator)
    return made


def main():
    counts = build(
        officials=OFFICIALS, courses=COURSES, sessions_per_course=SESSIONS, enrolled_per_course=ENROLLED
    )
    project = Project.objects.get(reference_key__startswith=BENCH_MARKER)
    indicators = framework(project)
    assert len(indicators) == 30
    call_command("collectstatic", "--noinput", verbosity=0)  # the pages name hashed static files
    user, _created = get_user_model().objects.get_or_create(username="results-bench")
    user.groups.add(user.groups.model.objects.get_or_create(name=roles.UNIDO_OFFICER)[0])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = f"/results/projects/{project.pk}/"

    # The same numbers first: every indicator, every period, every part (total, women, men).
    portal_values = {
        item.indicator.pk: {(p.start, p.end): p.actual for p in item.periods}
        for row in framework_progress(project=project)
        for item in row.indicators
    }
    nonzero = 0
    for indicator in indicators:
        hand = hand_indicator(indicator)
        assert portal_values[indicator.pk] == hand, (indicator.title_en, portal_values[indicator.pk], hand)
        nonzero += sum(1 for value in hand.values() if value.total)
    assert nonzero > 100, nonzero  # the periods hold data, not 180 zeros
    assert hand_per_filter(indicators) == portal_values

    def portal():
        framework_progress(project=project)

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    def per_indicator():
        for indicator in indicators:
            hand_indicator(indicator)

    def per_filter():
        hand_per_filter(indicators)

    page()  # warm: the first request loads the templates and the translations
    load_before = os.getloadavg()
    times = {
        (ours, theirs): interleaved_medians(ours_fn, theirs_fn, rounds=ROUNDS)
        for ours, ours_fn in (("portal", portal), ("page", page))
        for theirs, theirs_fn in (("per_indicator", per_indicator), ("per_filter", per_filter))
    }
    with CaptureQueriesContext(connection) as captured:
        page()
    page_queries = len(captured)
    with CaptureQueriesContext(connection) as captured:
        portal()
    portal_queries = len(captured)
    load_after = os.getloadavg()
    when = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"

    def verdict(ratio):
        return "met" if ratio <= GOAL else f"not met (by {ratio / GOAL:.2f}×)"

    def ms(value):
        return f"{value * 1000:,.0f} ms"

    rows = []
    for ours, label in (
        ("portal", f"`framework_progress` ({portal_queries} queries)"),
        ("page", f"progress page, GET through the test client ({page_queries} queries)"),
    ):
        mine, per_indicator_s = times[(ours, "per_indicator")]
        mine_2, per_filter_s = times[(ours, "per_filter")]
        ratio, ratio_2 = mine / per_indicator_s, mine_2 / per_filter_s
        rows.append(
            f"| {label} | {ms(per_indicator_s)} | **{ms(mine)}** | **{ratio:.2f}** ({verdict(ratio)}) "
            f"| {ms(per_filter_s)} | {ms(mine_2)} | {ratio_2:.2f} |"
        )
    table = "\n".join(rows)
    header = (
        f"| 30 indicators × 6 periods | SQL, a query per indicator (30) | portal | ratio (goal ≤ {GOAL}) "
        "| SQL, a query per filter (6) | portal | ratio |\n| --- | ---: | ---: | --- | ---: | ---: | ---: |"
    )
    text = f"""## Results framework progress

`benchmarks/results_progress.py`, {when} UTC, PostgreSQL {connection.pg_version // 10000}, {machine()},
load average {load_before[0]:.2f} before and {load_after[0]:.2f} after (a machine shared with other work).
Data: {counts["officials"]:,} officials, {counts["courses"]} courses of one project, {counts["sessions"]}
sessions, {counts["enrollments"]:,} enrolments, {counts["attendance"]:,} attendance rows. Framework: 30
computed indicators (officials trained, completing, women's share, ministries represented, attendance
rate; each for everyone, for each of three courses and for each of two ministries) × 6 periods of ten
days. `DATABASE_URL=postgres://…/pcp_bench_results .venv/bin/python -m benchmarks.results_progress`.
All three were checked to give the same 180 actuals (total, women, men) before timing.
{ROUNDS} rounds alternating, each pair timed on its own; medians; ratio = portal / hand-written SQL.
The goal (≤ {GOAL}×) is against one hand-written query per indicator, as the issue puts it; the last
three columns hold the portal against a stronger baseline, one query per distinct filter.

{header}
{table}
"""
    write_section("## Results framework progress", text)
    print(text)


if __name__ == "__main__":
    main()
