"""The results of the cast, counted by hand (EXPECTED), held against the selectors, the page and
the exports."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from participants.surveys import selectors, services

from .conftest import answers_for, make_test

pytestmark = pytest.mark.django_db

# Pre: O0 0 points (wrong, wrong), O1 2 (right, wrong), O2 5 (right, right).
# Post: O0 5, O1 5, O2 did not answer. Pairs: O0 0→5 (+5), O1 2→5 (+3).
EXPECTED = {"mean_pre": 1.0, "mean_post": 5.0, "mean_gain": 4.0, "gains": [(3, 1), (5, 1)]}


@pytest.fixture
def answered(cast):
    course, officials = cast
    pre = make_test(course)
    post = make_test(course, kind="post", pre_test=pre, title="After")
    submit = services.response_submit
    submit(instrument=pre, official=officials[0], data=answers_for(pre, single=1, multiple=[1], scale=2))
    submit(instrument=pre, official=officials[1], data=answers_for(pre, single=2, multiple=[1], scale=4))
    submit(
        instrument=pre,
        official=officials[2],
        data=answers_for(pre, single=2, multiple=[1, 3], scale=3, text="=1+1"),
    )
    submit(
        instrument=post,
        official=officials[0],
        data=answers_for(post, single=2, multiple=[1, 3], text="A note"),
    )
    submit(instrument=post, official=officials[1], data=answers_for(post, single=2, multiple=[3, 1]))
    return course, officials, pre, post


def test_the_paired_gain_is_the_one_counted_by_hand(answered):
    _course, officials, _pre, post = answered
    gain = selectors.paired_gain(post)
    assert (gain.mean_pre, gain.mean_post, gain.mean_gain) == (
        EXPECTED["mean_pre"],
        EXPECTED["mean_post"],
        EXPECTED["mean_gain"],
    )
    assert gain.distribution == EXPECTED["gains"]
    assert {official.pk for official, *_ in gain.pairs} == {officials[0].pk, officials[1].pk}


def test_response_rates_by_sex_and_ministry(answered):
    _course, _officials, _pre, post = answered
    rates = selectors.response_rates(post)
    assert [(r.eligible, r.answered) for r in rates["total"]] == [(3, 2)]
    assert [(r.label, r.eligible, r.answered) for r in rates["sex"]] == [("Female", 2, 1), ("Male", 1, 1)]
    assert sum(r.eligible for r in rates["ministry"]) == 3


def test_scale_means_and_distribution(answered):
    _course, _officials, pre, _post = answered
    scale = next(s for s in selectors.question_summaries(pre, with_names=True) if s.question.type == "scale")
    assert scale.mean == 3.0 and scale.distribution == [("1", 0), ("2", 1), ("3", 1), ("4", 1), ("5", 0)]
    assert selectors.satisfaction(pre) == 3.0


def test_the_results_page_shows_the_gain_and_names_only_to_staff(answered, staff_client, officer_client):
    _course, officials, _pre, post = answered
    staff_page = staff_client.get(reverse("survey_results", args=[post.pk])).content.decode()
    assert '<dd class="mean-gain">4.00</dd>' in staff_page
    assert officials[0].full_name in staff_page and "A note" in staff_page
    officer_page = officer_client.get(reverse("survey_results", args=[post.pk])).content.decode()
    assert '<dd class="mean-gain">4.00</dd>' in officer_page
    assert "A note" in officer_page and officials[0].full_name not in officer_page


def test_an_anonymous_survey_lists_free_text_without_names_even_for_staff(cast, staff_client):
    course, officials = cast
    survey = make_test(course, anonymous=True)
    services.response_submit(
        instrument=survey,
        official=officials[0],
        data=answers_for(survey, single=2, multiple=[1], text="Secret"),
    )
    page = staff_client.get(reverse("survey_results", args=[survey.pk])).content.decode()
    assert "Secret" in page and officials[0].full_name not in page
    csv_text = staff_client.get(reverse("survey_export", args=[survey.pk, "csv"])).content.decode("utf-8-sig")
    assert "Secret" in csv_text and officials[0].full_name not in csv_text


def test_the_exports_hold_the_same_answers_and_no_formula(answered, staff_client):
    _course, _officials, pre, _post = answered
    response = staff_client.get(reverse("survey_export", args=[pre.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Official", "Sex", "Ministry", "Score"]
    assert sorted(int(row[3]) for row in rows[1:]) == [0, 2, 5]
    assert "'=1+1" in [cell for row in rows for cell in row]
    xlsx = staff_client.get(reverse("survey_export", args=[pre.pk, "xlsx"]))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Responses", "Response rate"]
    rate = list(book["Response rate"].iter_rows(values_only=True))
    assert rate[1][:3] == ("All", 3, 3)
    assert staff_client.get(reverse("survey_export", args=[pre.pk, "pdf"])).status_code == 404


def test_the_results_page_reads_a_fixed_number_of_queries_whatever_the_answers(
    answered, staff_client, django_assert_max_num_queries
):
    _course, _officials, _pre, post = answered
    with django_assert_max_num_queries(20):
        assert staff_client.get(reverse("survey_results", args=[post.pk])).status_code == 200


def test_the_staff_pages_read_in_khmer(answered, staff_client):
    _course, _officials, pre, post = answered
    staff_client.cookies["django_language"] = "km"
    results = staff_client.get(reverse("survey_results", args=[post.pk])).content.decode()
    assert "ការកើនឡើងចំណេះដឹង (ផ្គូផ្គង)" in results and "អត្រាឆ្លើយតប" in results
    detail = staff_client.get(reverse("survey_detail", args=[pre.pk])).content.decode()
    assert "បង្កើតកំណែថ្មី" in detail and "តេស្តមុនវគ្គ" in detail
