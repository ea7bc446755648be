"""The date and time in a reminder: Phnom Penh time (settings.TIME_ZONE), in the reader's language."""

from __future__ import annotations

import datetime
import zoneinfo

from django.utils import timezone

from participants import reminders

# 16:59 UTC is 23:59 in Phnom Penh (UTC+7), still on New Year's Eve.
MOMENT = datetime.datetime(2025, 12, 31, 16, 59, tzinfo=datetime.UTC)


def test_a_khmer_reader_gets_the_formal_khmer_date_with_khmer_digits():
    assert reminders.format_when(MOMENT, "km") == "ថ្ងៃទី ៣១ ខែធ្នូ ឆ្នាំ ២០២៥ ម៉ោង ២៣:៥៩"


def test_an_english_reader_gets_the_weekday_day_month_year_and_24_hour_time():
    assert reminders.format_when(MOMENT, "en") == "Wednesday 31 December 2025, 23:59"


def test_khmer_months_are_named_as_in_cldr():
    months = [
        reminders.format_when(datetime.datetime(2026, month, 10, 3, tzinfo=datetime.UTC), "km")
        for month in range(1, 13)
    ]
    assert [text.split("ខែ")[1].split(" ")[0] for text in months] == [
        "មករា",
        "កុម្ភៈ",
        "មីនា",
        "មេសា",
        "ឧសភា",
        "មិថុនា",
        "កក្កដា",
        "សីហា",
        "កញ្ញា",
        "តុលា",
        "វិច្ឆិកា",
        "ធ្នូ",
    ]


def test_the_time_is_the_portal_s_zone_whatever_zone_a_request_activated():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Vienna")):
        assert reminders.format_when(MOMENT, "en") == "Wednesday 31 December 2025, 23:59"


def test_the_zone_comes_from_settings(settings):
    settings.TIME_ZONE = "UTC"
    assert reminders.format_when(MOMENT, "en") == "Wednesday 31 December 2025, 16:59"


def test_no_time_is_spelt_as_nothing():
    assert reminders.format_when(None, "km") == ""
