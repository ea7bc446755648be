"""The results framework on the reports' hand-counted cast (tests/reports/conftest.py)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from courses.models import Indicator, IndicatorPeriod, Result
from courses.services import framework_save
from tests.reports.conftest import world  # noqa: F401  (the cast, as a fixture here too)

Y2021 = (datetime.date(2021, 1, 1), datetime.date(2021, 12, 31))
Y2022 = (datetime.date(2022, 1, 1), datetime.date(2022, 12, 31))
ALL = (datetime.date(2021, 1, 1), datetime.date(2022, 12, 31))


def add_period(indicator, period, target, sex="", **extra):
    return framework_save(
        instance=IndicatorPeriod(
            indicator=indicator,
            period_start=period[0],
            period_end=period[1],
            sex=sex,
            target_value=Decimal(target),
            **extra,
        )
    )


@pytest.fixture
def framework(world, staff):  # noqa: F811
    """Impact ← outcome ← output on the cast's project, with one indicator per definition."""
    project = world["a"].project
    project.start_date, project.end_date = datetime.date(2019, 1, 1), datetime.date(2023, 12, 31)
    project.save()
    programme = project.programme

    def result(level, title, parent=None):
        return framework_save(
            instance=Result(
                programme=programme,
                project=project,
                parent=parent,
                level=level,
                title_en=title,
                title_km="លទ្ធផល",
            ),
            changed_by=staff,
        )

    impact = result(Result.Level.IMPACT, "Stronger industrial policy")
    outcome = result(Result.Level.OUTCOME, "Officials apply what they learnt", impact)
    output = result(Result.Level.OUTPUT, "Officials trained", outcome)

    def indicator(title, definition, measure=Indicator.Measure.UNIT, on=output, **extra):
        return framework_save(
            instance=Indicator(
                result=on,
                title_en=title,
                title_km="សូចនាករ",
                measure=measure,
                source=Indicator.Source.COMPUTED if definition else Indicator.Source.ENTERED,
                definition=definition,
                **extra,
            ),
            changed_by=staff,
        )

    pct = Indicator.Measure.PERCENTAGE
    made = {
        "impact": impact,
        "outcome": outcome,
        "output": output,
        "trained": indicator("Officials trained", "trained", baseline_year=2020, baseline_value=0),
        "women_share": indicator("Share of women trained", "women_share", pct, on=outcome),
        "completed_b": indicator("Officials completing course B", "completed", course=world["b"]),
        "ministries": indicator("Ministries represented", "ministries", on=outcome),
        "attendance": indicator("Attendance rate", "attendance_rate", pct),
        "policies": indicator("Policies drafted", "", on=impact),
    }
    add_period(made["trained"], Y2021, 4)
    add_period(made["trained"], Y2021, 2, "female")
    add_period(made["trained"], Y2021, 2, "male")
    add_period(made["trained"], Y2022, 2)
    add_period(made["women_share"], ALL, 50)
    add_period(made["completed_b"], Y2022, 2)
    add_period(made["ministries"], ALL, 3)
    add_period(made["attendance"], ALL, 80)
    add_period(made["policies"], ALL, 2, actual_value=Decimal(1), actual_note="Draft SME policy, 2022")
    return made
