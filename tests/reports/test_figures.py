"""Every figure of every report against the numbers worked out by hand in conftest.EXPECTED."""

from __future__ import annotations

import datetime

import pytest

from participants.reports import figures as fig
from tests.reports.conftest import EXPECTED

pytestmark = pytest.mark.django_db


def _split(split):
    return (split.women, split.men, split.other)


def _check(figures, expected):
    for name in ("officials", "trained", "completed", "enrolments"):
        if name in expected:
            assert _split(getattr(figures, name)) == expected[name], name
    for name in ("attended", "expected", "excused", "absent"):
        assert getattr(figures, name) == expected[name], name


def test_programme_figures_match_the_hand_count(world):
    figures = fig.programme_figures(fig.ReportFilters())
    _check(figures, EXPECTED["programme"])
    assert figures.attendance_rate == pytest.approx(9 / 16)
    assert figures.completion_rate == pytest.approx(3 / 5)
    assert figures.officials.women_share == pytest.approx(0.5)
    reach = fig.programme_reach(fig.ReportFilters())
    assert (reach.courses, reach.sessions_held, reach.ministries_reached) == (2, 6, 2)


def test_course_figures_use_each_courses_own_threshold(world):
    by_course = fig.grouped_figures(fig.ReportFilters(), "course")
    _check(by_course[(world["a"].pk,)], EXPECTED["course_a"])
    # o3 attended 1 of 2 in course B: enough at its 50 % threshold, not at the default 75 %.
    _check(by_course[(world["b"].pk,)], EXPECTED["course_b"])
    assert world["b"].effective_completion_threshold == 0.5


def test_a_renamed_ministry_is_one_group_with_a_row_per_name_at_the_time(world):
    misti, moc = world["misti"], world["moc"]
    by_ministry = fig.grouped_figures(fig.ReportFilters(), "ministry")
    _check(by_ministry[(misti.pk,)], EXPECTED["misti"])
    _check(by_ministry[(moc.pk,)], EXPECTED["moc"])
    names = fig.grouped_figures(fig.ReportFilters(), "ministry_name")
    assert sorted(key[1:] for key in names if key[0] == misti.pk) == [
        ("Ministry of Industry and Handicraft", "MIH"),
        ("Ministry of Industry, Science, Technology and Innovation", "MISTI"),
    ]
    assert _split(names[(misti.pk, "Ministry of Industry and Handicraft", "MIH")].officials) == (1, 0, 0)


def test_figures_by_sex_add_up_to_the_programme(world):
    by_sex = fig.grouped_figures(fig.ReportFilters(), "sex")
    assert by_sex[("female",)].attended == 8 and by_sex[("female",)].expected == 10  # o1: 4, o3: 4 + 2
    assert by_sex[("male",)].attended == 1 and by_sex[("male",)].expected == 6
    assert ("other",) not in by_sex  # o4 withdrew


def test_session_figures_count_only_held_sessions(world):
    per_session = fig.session_figures(fig.ReportFilters())
    titles = {s.pk: s.title for s in [*world["a_sessions"], *world["b_sessions"]]}
    assert set(per_session) == set(titles)  # neither the cancelled nor the future session
    for session_id, figures in per_session.items():
        attended, excused, absent, unmarked, enrolled = EXPECTED["sessions"][titles[session_id]]
        assert (figures.attended.total, figures.excused.total, figures.absent.total) == (
            attended,
            excused,
            absent,
        )
        assert (figures.unmarked, figures.enrolled.total) == (unmarked, enrolled)


def test_a_date_range_keeps_the_sessions_that_started_in_it(world):
    filters = fig.ReportFilters(date_from=datetime.date(2021, 3, 3), date_to=datetime.date(2021, 3, 4))
    figures = fig.programme_figures(filters)
    # Only A3 and A4: o1 L A, o2 A A, o3 P P; course B has no session in the range.
    assert (figures.attended, figures.expected) == (3, 6)
    assert _split(figures.trained) == (2, 0, 0)
    assert _split(figures.completed) == (1, 0, 0)  # o3 only: 1 of 2 is under 75 %
    assert fig.programme_reach(filters).sessions_held == 2


def test_a_ministry_filter_keeps_its_officials_only(world):
    figures = fig.programme_figures(fig.ReportFilters(ministry_id=world["misti"].pk))
    _check(figures, EXPECTED["misti"])


def test_an_empty_selection_gives_zeros_not_errors(world):
    figures = fig.programme_figures(fig.ReportFilters(date_from=datetime.date(2030, 1, 1)))
    assert figures.officials.total == 0
    assert figures.attendance_rate is None and figures.completion_rate is None
    assert figures.officials.women_share is None


@pytest.mark.parametrize(
    "make_filters",
    [
        lambda world: fig.ReportFilters(),
        lambda world: fig.ReportFilters(ministry_id=world["misti"].pk),
        lambda world: fig.ReportFilters(date_from=datetime.date(2021, 3, 3)),
    ],
    ids=["all", "one ministry", "from a date"],
)
def test_several_groupings_and_the_reach_in_one_query_are_the_separate_figures(
    world, make_filters, django_assert_num_queries
):
    filters = make_filters(world)
    groups = tuple(fig.GROUPS)
    with django_assert_num_queries(1):
        report = fig.report_figures(filters, groups, reach=True)
    for group in groups:
        assert report.groups[group] == fig.grouped_figures(filters, group), group
    assert report.reach == fig.programme_reach(filters)
    assert report.groups["programme"][()] == fig.programme_figures(filters)
