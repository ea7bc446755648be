"""Bad input to the framework is refused with a message on the field, and nothing changes."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from courses.models import Indicator, IndicatorPeriod, Result
from courses.services import framework_save
from tests.factories import CourseFactory
from tests.results.conftest import ALL, add_period


def _refused(instance, field: str) -> str:
    model = type(instance)
    before = model.objects.count()
    with pytest.raises(ValidationError) as caught:
        framework_save(instance=instance)
    assert model.objects.count() == before
    assert field in caught.value.message_dict, caught.value.message_dict
    return " ".join(caught.value.message_dict[field])


def test_a_target_outside_the_projects_dates_is_refused(framework):
    period = IndicatorPeriod(
        indicator=framework["trained"],
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 12, 31),
        target_value=Decimal(5),
    )
    assert "outside the project's dates" in _refused(period, "period_start")


def test_a_percentage_above_100_is_refused(framework):
    period = IndicatorPeriod(
        indicator=framework["women_share"],
        period_start=datetime.date(2021, 1, 1),
        period_end=datetime.date(2021, 6, 30),
        target_value=Decimal("100.5"),
    )
    assert "between 0 and 100" in _refused(period, "target_value")
    framework["women_share"].baseline_year, framework["women_share"].baseline_value = 2020, Decimal(140)
    assert "between 0 and 100" in _refused(framework["women_share"], "baseline_value")


def test_a_computed_indicator_filtered_on_a_course_of_another_project_is_refused(framework):
    elsewhere = CourseFactory()  # its own project
    indicator = Indicator(
        result=framework["output"],
        title_en="Trained elsewhere",
        source=Indicator.Source.COMPUTED,
        definition="trained",
        course=elsewhere,
    )
    assert "another project" in _refused(indicator, "course")


def test_a_circular_result_tree_is_refused(framework):
    impact = framework["impact"]
    impact.parent = framework["output"]  # impact ← outcome ← output ← impact
    assert "own sub-results" in _refused(impact, "parent")
    impact.refresh_from_db()
    assert impact.parent is None
    outcome = framework["outcome"]
    outcome.parent = outcome
    assert "own sub-results" in _refused(outcome, "parent")


def test_a_result_under_a_lower_level_is_refused(framework):
    result = Result(
        programme=framework["output"].programme,
        project=framework["output"].project,
        parent=framework["output"],
        level=Result.Level.OUTCOME,
        title_en="Upside down",
    )
    assert "higher level" in _refused(result, "parent")


def test_a_baseline_year_after_the_target_is_refused(framework):
    indicator = framework["trained"]
    indicator.baseline_year = 2022
    framework_save(instance=indicator)  # the baseline itself is fine…
    period = IndicatorPeriod(
        indicator=indicator,
        period_start=datetime.date(2021, 1, 1),
        period_end=datetime.date(2021, 6, 30),
        target_value=Decimal(1),
    )
    assert "baseline year (2022) is after" in _refused(period, "period_start")  # …the target before it is not


def test_definition_and_source_must_agree(framework):
    computed_without = Indicator(result=framework["output"], title_en="x", source="computed", definition="")
    assert "Choose how" in _refused(computed_without, "definition")
    share_as_units = Indicator(
        result=framework["output"], title_en="x", source="computed", definition="women_share", measure=1
    )
    assert "percentage" in _refused(share_as_units, "measure")


def test_an_entered_actual_needs_its_evidence_note_and_a_computed_one_takes_none(framework):
    policies = IndicatorPeriod(
        indicator=framework["policies"],
        period_start=datetime.date(2022, 1, 1),
        period_end=datetime.date(2022, 6, 30),
        target_value=Decimal(1),
        actual_value=Decimal(1),
        actual_note="   ",
    )
    assert "note" in _refused(policies, "actual_note")
    by_hand = IndicatorPeriod(
        indicator=framework["trained"],
        period_start=datetime.date(2022, 1, 1),
        period_end=datetime.date(2022, 6, 30),
        target_value=Decimal(1),
        actual_value=Decimal(9),
        actual_note="I counted",
    )
    assert "computes" in _refused(by_hand, "actual_value")


def test_a_second_target_for_the_same_period_and_sex_is_refused(framework):
    with pytest.raises(ValidationError):
        add_period(framework["women_share"], ALL, 60)


def test_every_change_is_kept_in_the_history_with_who_made_it(framework, staff):
    indicator = framework["trained"]
    indicator.title_en = "Officials trained (all courses)"
    framework_save(instance=indicator, changed_by=staff)
    history = list(indicator.history.order_by("history_date"))
    assert [row.title_en for row in history] == ["Officials trained", "Officials trained (all courses)"]
    assert history[-1].history_user == staff
