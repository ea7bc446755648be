"""The framework's two definitions that read other selectors than the reports: completing the
series (the series page's rule, as it stood at the end of each period) and knowledge gain (the
surveys' paired tests), each equal to a hand count on the reports' cast."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from courses.models import Indicator
from courses.services import framework_save
from participants.results.actuals import ActualsCalculator, Value, framework_progress
from participants.series import series_figures
from participants.surveys import services as surveys
from participants.surveys.models import Response
from tests.results.conftest import ALL, Y2021, Y2022, add_period
from tests.surveys.conftest import answers_for, make_test

pytestmark = pytest.mark.django_db


def _indicator(framework, staff, definition, **extra):
    return framework_save(
        instance=Indicator(
            result=framework["output"],
            title_en=definition,
            measure=Indicator.Measure.PERCENTAGE
            if definition == "knowledge_gain"
            else Indicator.Measure.UNIT,
            source=Indicator.Source.COMPUTED,
            definition=definition,
            **extra,
        ),
        changed_by=staff,
    )


def test_series_completion_is_the_series_rule_at_the_end_of_each_period(framework, world, staff):
    series = _indicator(framework, staff, "series_completed")
    add_period(series, Y2021, 2)
    add_period(series, Y2022, 2)
    calculator = ActualsCalculator()
    # End of 2021: only course A has been held, so completing A completes the series: o1 and o3
    # (women); o2 attended 2 of 4 sessions, under the threshold.
    assert calculator.computed(series, *Y2021) == Value(Decimal(2), Decimal(2), Decimal(0))
    # End of 2022: A and B held; only o3 completed both (o1 never enrolled in B).
    assert calculator.computed(series, *Y2022) == Value(Decimal(1), Decimal(1), Decimal(0))
    # The same figure as the series page's today.
    assert series_figures(world["a"].project).total.completed.total == 1
    progress = {
        ip.indicator.pk: ip for rp in framework_progress(project=world["a"].project) for ip in rp.indicators
    }
    assert "completed as many courses of the series as its rule asks" in progress[series.pk].footnote
    assert [p.actual.total for p in progress[series.pk].periods] == [Decimal(2), Decimal(1)]


def test_series_completion_of_one_ministry_counts_its_officials_only(framework, world, staff):
    moc = _indicator(framework, staff, "series_completed", ministry=world["moc"])
    misti = _indicator(framework, staff, "series_completed", ministry=world["misti"])
    calculator = ActualsCalculator()
    assert calculator.computed(moc, *Y2022).total == 1  # o3
    assert calculator.computed(misti, *Y2022).total == 0
    assert calculator.computed(misti, *Y2021).total == 1  # o1, before course B was held


@pytest.fixture
def tests_answered(world):
    """Course A's pre- and post-test (5 points each): o1 0 → 5, o2 2 → 5, o3 answered the pre-test
    only. Post-tests answered on 1 June 2022."""
    course = world["a"]
    o1, o2, o3 = world["officials"][:3]
    pre = make_test(course)
    post = make_test(course, kind="post", pre_test=pre, title="After")
    surveys.response_submit(instrument=pre, official=o1, data=answers_for(pre, single=1, multiple=[1]))
    surveys.response_submit(instrument=pre, official=o2, data=answers_for(pre, single=2, multiple=[1]))
    surveys.response_submit(instrument=pre, official=o3, data=answers_for(pre, single=2, multiple=[1, 3]))
    surveys.response_submit(instrument=post, official=o1, data=answers_for(post, single=2, multiple=[1, 3]))
    surveys.response_submit(instrument=post, official=o2, data=answers_for(post, single=2, multiple=[3, 1]))
    answered_on = datetime.datetime(2022, 6, 1, 10, tzinfo=timezone.get_current_timezone())
    Response.objects.filter(instrument=post).update(submitted_at=answered_on)
    return pre, post


def test_knowledge_gain_is_the_mean_paired_gain_in_points_of_the_maximum(
    framework, world, staff, tests_answered
):
    gain = _indicator(framework, staff, "knowledge_gain", course=world["a"])
    calculator = ActualsCalculator()
    # o1 0 % → 100 % (+100 points, a woman), o2 40 % → 100 % (+60, a man): mean 80.
    assert calculator.computed(gain, *Y2022) == Value(Decimal("80.00"), Decimal("100.00"), Decimal("60.00"))
    assert calculator.computed(gain, *ALL).total == Decimal("80.00")
    # No post-test was answered in 2021.
    assert calculator.computed(gain, *Y2021) == Value(None, None, None)
    only_moc = _indicator(framework, staff, "knowledge_gain", course=world["a"], ministry=world["moc"])
    assert calculator.computed(only_moc, *Y2022).total is None  # o3 (MOC) took no post-test


def test_knowledge_gain_and_series_need_what_they_measure(framework, staff):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        _indicator(framework, staff, "knowledge_gain")
    assert "choose the course" in " ".join(caught.value.message_dict["course"])
    with pytest.raises(ValidationError) as caught:
        framework_save(
            instance=Indicator(
                result=framework["output"],
                title_en="Gain as a count",
                measure=Indicator.Measure.UNIT,
                source=Indicator.Source.COMPUTED,
                definition="knowledge_gain",
                course=framework["completed_b"].course,
            )
        )
    assert "percentage" in " ".join(caught.value.message_dict["measure"])


def test_the_new_definitions_add_a_fixed_number_of_queries(
    framework, world, staff, tests_answered, django_assert_max_num_queries
):
    series = _indicator(framework, staff, "series_completed")
    add_period(series, Y2021, 2)
    add_period(series, Y2022, 2)
    gain = _indicator(framework, staff, "knowledge_gain", course=world["a"])
    add_period(gain, ALL, 50)
    # The framework's own 3 + 4 (test_actuals), then 3 per series date and 4 per gain period.
    with django_assert_max_num_queries(3 + 4 + 2 * 3 + 4):
        framework_progress(project=world["a"].project)


def test_the_ministry_lines_of_series_and_gain_narrow_the_same_selectors(
    framework, world, staff, tests_answered
):
    series = _indicator(framework, staff, "series_completed")
    add_period(series, Y2021, 2)
    add_period(series, Y2021, 1, ministry=world["misti"])
    add_period(series, Y2022, 1, ministry=world["moc"])
    gain = _indicator(framework, staff, "knowledge_gain", course=world["a"])
    add_period(gain, Y2022, 50, ministry=world["misti"])
    add_period(gain, Y2022, 50, ministry=world["moc"])
    progress = {
        ip.indicator.pk: ip for rp in framework_progress(project=world["a"].project) for ip in rp.indicators
    }

    def lines(indicator, period):
        found = next(p for p in progress[indicator.pk].periods if (p.start, p.end) == period)
        return {line.ministry.acronym: line.actual for line in found.ministries}

    # End of 2021: o1 (MISTI) and o3 (MOC) completed the series of course A alone.
    assert lines(series, Y2021) == {
        "MISTI": Value(Decimal(1), Decimal(1), Decimal(0)),
        "MOC": Value(Decimal(1), Decimal(1), Decimal(0)),
    }
    # End of 2022: only o3 (MOC) completed A and B.
    assert lines(series, Y2022)["MOC"] == Value(Decimal(1), Decimal(1), Decimal(0))
    assert lines(series, Y2022)["MISTI"].total == 0
    # Both paired tests are MISTI's (o1 +100, o2 +60); MOC's o3 answered the pre-test only.
    assert lines(gain, Y2022) == {
        "MISTI": Value(Decimal("80.00"), Decimal("100.00"), Decimal("60.00")),
        "MOC": Value(None, None, None),
    }
