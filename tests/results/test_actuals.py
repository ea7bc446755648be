"""Computed actuals equal hand-counted figures on the reports' cast, and the reports' own figures."""

from __future__ import annotations

from decimal import Decimal

from participants.reports import figures as fig
from participants.results.actuals import ActualsCalculator, Value, framework_progress
from tests.results.conftest import ALL, Y2021, Y2022


def _progress(framework):
    rows = framework_progress(project=framework["output"].project)
    return {ip.indicator.pk: ip for rp in rows for ip in rp.indicators}, rows


def test_computed_actuals_equal_the_hand_counted_cast(framework):
    progress, _rows = _progress(framework)

    def actual(name, period):
        periods = {(p.start, p.end): p for p in progress[framework[name].pk].periods}
        return periods[period].actual

    # 2021 is course A: o1 and o3 (women) and o2 (man) attended; 2022 is course B: only o3.
    assert actual("trained", Y2021) == Value(Decimal(3), Decimal(2), Decimal(1))
    assert actual("trained", Y2022) == Value(Decimal(1), Decimal(1), Decimal(0))
    # Women: o1, o3 of three trained officials.
    assert actual("women_share", ALL) == Value(Decimal("66.67"))
    # Course B: only o3 completed (1 of 2 held sessions, threshold 50 %).
    assert actual("completed_b", Y2022) == Value(Decimal(1), Decimal(1), Decimal(0))
    assert actual("ministries", ALL) == Value(Decimal(2))
    # 9 of 16 expected; women 3+4+1 of 4+4+2; men 1 of 4 + 0 of 2.
    assert actual("attendance", ALL) == Value(Decimal("56.25"), Decimal("80.00"), Decimal("16.67"))
    assert actual("policies", ALL) == Value(Decimal(1), None, None)


def test_progress_has_percent_of_target_status_and_the_tree(framework):
    progress, rows = _progress(framework)
    assert [(row.result.title_en, row.depth) for row in rows] == [
        ("Stronger industrial policy", 0),
        ("Officials apply what they learnt", 1),
        ("Officials trained", 2),
    ]
    trained_2021 = progress[framework["trained"].pk].periods[0]
    assert trained_2021.target == Value(Decimal(4), Decimal(2), Decimal(2))
    assert trained_2021.percent_of_target == Decimal("75.0")
    assert trained_2021.status == "on_track"
    women = progress[framework["women_share"].pk].periods[0]
    assert women.percent_of_target == Decimal("133.3")
    assert women.status == "achieved"
    attendance = progress[framework["attendance"].pk].periods[0]
    assert attendance.status == "behind"  # 56.25 of 80 is 70 %, and 2022 has ended
    assert "Officials trained: distinct officials" in progress[framework["trained"].pk].footnote
    assert "Entered by hand" in progress[framework["policies"].pk].footnote
    assert "Only course" in progress[framework["completed_b"].pk].footnote


def test_actuals_are_the_programme_reports_figures(framework):
    filters = fig.ReportFilters(date_from=ALL[0], date_to=ALL[1])
    report = fig.programme_figures(filters)
    reach = fig.programme_reach(filters)
    progress, _rows = _progress(framework)
    assert progress[framework["ministries"].pk].periods[0].actual.total == reach.ministries_reached
    assert progress[framework["attendance"].pk].periods[0].actual.total == Decimal(
        str(round(report.attendance_rate * 100, 2))
    )
    calculator = ActualsCalculator()
    trained = calculator.computed(framework["trained"], *ALL)
    assert (trained.total, trained.women, trained.men) == (
        report.trained.total,
        report.trained.women,
        report.trained.men,
    )


def test_progress_query_count_does_not_grow_with_the_framework(framework, django_assert_max_num_queries):
    # Results, indicators, periods, then one report per distinct (course, ministry, period):
    # trained ×2 periods, completed (course B), and ALL shared by three indicators.
    with django_assert_max_num_queries(3 + 4):
        framework_progress(project=framework["output"].project)
