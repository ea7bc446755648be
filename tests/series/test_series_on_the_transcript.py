"""The transcript says what the series page says of each official (conftest.EXPECTED), in the
page, the CSV, the PDF's data and the API; a series with no course held completes nobody."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from courses.services import series_rule_set
from participants.transcripts import SeriesCompletion, official_transcript, transcript_csv
from tests.api.conftest import API, key_client, make_key
from tests.factories import CourseFactory, EnrollmentFactory, OfficialFactory
from tests.series.conftest import EXPECTED

pytestmark = pytest.mark.django_db


def _completion(done: bool) -> str:
    return SeriesCompletion.COMPLETED if done else SeriesCompletion.NOT_COMPLETED


@pytest.mark.parametrize("who", ["a", "b", "c", "d", "e"])
def test_each_official_s_transcript_judges_the_series_as_the_hand_count(series, who, officer_client):
    official = series["officials"][who]

    transcript = official_transcript(official.pk)

    [entry] = transcript.series
    assert entry.project_id == series["project"].pk
    assert (entry.courses, entry.courses_held) == (3, 2)  # C3 is not held yet: not asked for
    assert entry.courses_required == 2
    assert entry.courses_completed == EXPECTED[who]["done"]
    assert entry.completion == _completion(EXPECTED[who]["series"])
    api = key_client(make_key("partner")).get(f"{API}officials/{official.pk}/transcript/").json()
    assert api["series"] == [
        {
            "series": series["project"].pk,
            "title": str(series["project"]),
            "courses": 3,
            "courses_held": 2,
            "courses_required": 2,
            "courses_completed": EXPECTED[who]["done"],
            "completion": _completion(EXPECTED[who]["series"]),
        }
    ]
    page = officer_client.get(reverse("official_transcript", args=[official.pk])).content.decode()
    assert f'data-series="{series["project"].pk}"' in page
    assert f'data-completion="{entry.completion}"' in page
    rows = list(csv.DictReader(io.StringIO(transcript_csv(transcript))))
    assert rows and {row["Series completion"] for row in rows} == {entry.completion_label}


def test_the_series_rule_changes_what_the_transcript_says(series):
    series_rule_set(project=series["project"], min_courses=1)
    b = official_transcript(series["officials"]["b"].pk).series[0]
    assert (b.courses_required, b.courses_completed, b.completion) == (1, 1, SeriesCompletion.COMPLETED)


def test_a_series_with_no_course_held_completes_nobody_and_says_so(db):
    official = OfficialFactory()
    EnrollmentFactory(official=official, course=CourseFactory())

    [entry] = official_transcript(official.pk).series

    assert entry.completion == SeriesCompletion.NOT_YET_HELD
    assert entry.courses_held == 0
