"""The portal's search: what it finds and for whom, and what it does with hostile or tired input.

Run on SQLite and on PostgreSQL (trigram and full-text): both must answer alike on this cast."""

from __future__ import annotations

import unicodedata

import pytest
from django.urls import reverse

from participants import search as search_module
from participants.models import Official
from participants.pages import search as search_view
from participants.search import (
    LIMIT,
    QUERY_MAX_LENGTH,
    courses_matching,
    ministries_matching,
    officials_matching,
    search,
    sessions_matching,
)
from tests.factories import OfficialFactory


def names(results) -> set[str]:
    return {official.full_name for official in results.officials}


# --- officials ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "ចាន់",  # a part of the Khmer name
        "ចាន់ សុភា",
        "ចាន់\u200bសុភា",  # a zero-width space between the words
        "ចាន់សុភា",  # no space at all
        "chan",
        "CHAN SOPHEA",
        "  sophea   chan ",  # given name first, with spaces to spare
        "hansoph",  # the middle of the name
    ],
)
def test_an_official_is_found_however_the_name_is_typed(cast, staff, query):
    assert "CHAN Sophea" in names(search(query, user=staff))


def test_a_partial_khmer_name_finds_everyone_who_has_it(cast, officer):
    assert names(search("ចាន់", user=officer)) == {"CHAN Sophea", "ចាន់ធូ"}


def test_khmer_look_alike_spellings_and_invisible_characters_do_not_matter(cast, officer):
    # Stored as េ + ា with a zero-width space; typed as ោ with a plain space, and the other way.
    assert names(search("សុខ សោភា", user=officer)) == {"SOK Dara"}
    assert names(search("សោភា".replace("\u17c4", "\u17c1\u17b6"), user=officer)) == {"SOK Dara"}


def test_the_unicode_form_of_the_query_does_not_matter(cast, officer):
    decomposed = unicodedata.normalize("NFD", "lê thu")
    assert decomposed != "lê thu"
    assert names(search(decomposed, user=officer)) == {"LÊ Thu"}


@pytest.mark.parametrize(
    "phone",
    ["០១២ ៣៤៥ ៦៧៨", "012 345 678", "+855 12 345 678", "(012) 345-678", "345 678", "៣៤៥៦៧៨", "+855 12 34"],
)
def test_staff_find_an_official_by_phone_in_latin_or_khmer_digits(cast, staff, phone):
    assert names(search(phone, user=staff)) == {"CHAN Sophea"}


def test_staff_find_an_official_by_e_mail(cast, staff):
    assert names(search("Sophea.Chan@MISTI", user=staff)) == {"CHAN Sophea"}


def test_officers_cannot_find_anyone_by_phone_or_e_mail(cast, officer):
    for query in ("០១២ ៣៤៥ ៦៧៨", "012 345 678", "sophea.chan@misti.gov.kh", "dara@mef"):
        assert names(search(query, user=officer)) == set(), query


def test_the_page_shows_phones_to_staff_and_never_to_officers(cast, staff_client, officer_client):
    staff_page = staff_client.get(reverse("search"), {"q": "chan"}).content.decode()
    officer_page = officer_client.get(reverse("search"), {"q": "chan"}).content.decode()
    assert "+855 12 345 678" in staff_page
    assert "345 678" not in officer_page and "misti.gov.kh" not in officer_page
    assert reverse("official_detail", args=[cast["chan"].pk]) in officer_page


def test_search_columns_follow_an_edit(cast, officer):
    chan = cast["chan"]
    chan.name_km = "ចាន់ សុភ័ក្រ"
    chan.save(update_fields=["name_km"])
    assert names(search("សុភ័ក្រ", user=officer)) == {"CHAN Sophea"}
    assert names(search("ចាន់ សុភា", user=officer)) == set()


# --- courses, sessions, ministries ----------------------------------------------------------------


def test_courses_and_sessions_are_found_by_title_topic_and_venue(cast, officer):
    results = search("industrial", user=officer)
    assert [course.title for course in results.courses] == ["Industrial policy and strategy"]
    assert [session.title for session in results.sessions] == ["Opening: industrial diagnostics"]
    assert [course.number for course in search("siem reap", user=officer).courses] == [2]
    assert [session.title for session in search("metrology", user=officer).sessions] == ["Metrology visit"]
    # Every word must be there, in any order.
    assert [course.number for course in search("strategy industrial", user=officer).courses] == [1]
    assert search("industrial metrology", user=officer).courses == []


@pytest.mark.parametrize(
    "query", ["Handicraft", "MIH", "ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម", "innovation", "MISTI", "ក្រសួងឧស្សាហកម្ម"]
)
def test_a_ministry_is_found_by_its_current_or_a_former_name(cast, officer, query):
    found = search(query, user=officer).ministries
    assert [ministry.code for ministry, _former in found] == ["misti"]


def test_a_former_name_that_matched_is_shown_with_the_ministry(cast, officer_client):
    body = officer_client.get(reverse("search"), {"q": "handicraft"}).content.decode()
    assert "Ministry of Industry, Science, Technology and Innovation" in body
    assert "formerly Ministry of Industry and Handicraft, until 2020" in body


def test_the_results_page_groups_results_under_headings(cast, officer_client):
    body = officer_client.get(reverse("search"), {"q": "MISTI"}).content.decode()
    # "MISTI" is a ministry's acronym and a session's venue; no official or course has it.
    assert '<h2 id="results-ministries">Ministries</h2>' in body
    assert '<h2 id="results-sessions">Sessions</h2>' in body
    assert "results-officials" not in body and "results-courses" not in body
    assert "2 results for “MISTI”." in body


def test_a_search_costs_a_fixed_number_of_queries(cast, staff, django_assert_max_num_queries):
    for number in range(30):
        OfficialFactory(family_name=f"Chan{number}", ministry=cast["mef"])
    with django_assert_max_num_queries(6):
        results = search("chan", user=staff)
        assert len(results.officials) == 20 and "officials" in results.more


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "x" * 2000,
        "!!!…,,,;;;---???",
        "%",
        "_",
        "%%__\\",
        "' OR 1=1 --",
        "'; DROP TABLE participants_official; --",
        "chan' UNION SELECT password FROM auth_user --",
        ".*",
        "^(a+)+$",
        "[[:alpha:]]",
        "(?i)chan|sok",
        "chan & | ! ( ) :* <->",
        "\x00chan",
        "\ufeff\u200b",
        " ",
    ],
)
def test_hostile_or_tired_input_gets_results_or_nothing_found_never_an_error(cast, staff_client, query):
    response = staff_client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    body = response.content.decode()
    results = response.context["results"]
    if results.query:
        assert results.count > 0 or "Nothing found for" in body
    # No wildcard: "%" and "_" are letters here, and SQL is just text.
    assert "SOK Dara" not in body
    assert "DROP TABLE" not in body or "Nothing found" in body


def test_a_long_khmer_paste_is_cut_by_the_search_and_refused_clearly_by_the_address_limit(
    cast, staff, staff_client
):
    # 2,000 Khmer characters are 18,000 bytes in an address: the platform's limit answers first.
    response = staff_client.get(reverse("search"), {"q": "ចាន់" * 500})
    assert response.status_code == 414
    assert "shorten the search" in response.content.decode()
    results = search("ចាន់" * 500, user=staff)
    assert results.truncated and results.officials == []


def test_a_long_paste_is_cut_and_the_page_says_so(cast, staff_client):
    response = staff_client.get(reverse("search"), {"q": "chan " + "x" * 2000})
    assert response.context["results"].query == ("chan " + "x" * 2000)[:QUERY_MAX_LENGTH]
    assert f"Only the first {QUERY_MAX_LENGTH} characters were searched." in response.content.decode()


def test_the_header_has_the_search_box_for_portal_users_only(cast, officer_client, client):
    assert 'role="search"' in officer_client.get(reverse("dashboard")).content.decode()
    assert 'role="search"' not in client.get(reverse("home")).content.decode()


def test_the_search_page_speaks_khmer(cast, officer_client):
    officer_client.cookies["django_language"] = "km"
    body = officer_client.get(reverse("search"), {"q": "MISTI"}, HTTP_ACCEPT_LANGUAGE="km").content.decode()
    for english in ("Search the portal", "Ministries", "Sessions", "results for", "arrow keys"):
        assert english not in body, english


# --- the length of a search -----------------------------------------------------------------------


def test_the_search_view_itself_cuts_a_2000_character_khmer_query(cast, staff, rf):
    # Behind a server that lets the address through, the view reads only the first hundred
    # characters: "ចាន់" repeated finds nobody, and the page says what was searched.
    request = rf.get(reverse("search"), {"q": "ចាន់" * 500})
    request.user = staff
    request.session = {}
    response = search_view(request)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing found for" in body
    assert f"Only the first {QUERY_MAX_LENGTH} characters were searched." in body


def test_a_2000_character_khmer_query_starting_with_a_name_still_finds_it(cast, staff):
    results = search("ចាន់ សុភា" + "ក" * 2000, user=staff)
    assert results.truncated and len(results.query) == QUERY_MAX_LENGTH
    # The cut text is the name and a run of one letter: nobody's name has that run.
    assert results.officials == []
    assert names(search("ចាន់" + " " * 2000, user=staff)) == {"CHAN Sophea", "ចាន់ធូ"}


def test_every_search_box_stops_at_the_length_the_server_reads(cast, staff_client):
    limit = f'maxlength="{QUERY_MAX_LENGTH}"'
    header = staff_client.get(reverse("dashboard")).content.decode()
    assert f'id="header-search-q" type="search" name="q" {limit}' in header
    page = staff_client.get(reverse("search"), {"q": "chan"}).content.decode()
    assert f'id="search-page-q" type="search" name="q" {limit}' in page
    for url in (reverse("course_detail", args=[cast["course"].pk]), reverse("official_merge")):
        body = staff_client.get(url).content.decode()
        assert 'name="q"' in body and limit in body, url


def test_the_officials_search_cuts_a_long_query_instead_of_refusing_it(cast, staff_client):
    # The enrolment search on the course page: the first hundred characters are searched.
    response = staff_client.get(
        reverse("course_detail", args=[cast["course"].pk]), {"q": "sophea" + " " * 40 + "x" * 200}
    )
    assert response.status_code == 200
    assert response.context["query"] == "sophea" + " " * 40 + "x" * 54
    assert not response.context["search_form"].errors


# --- one statement --------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["chan", "ចាន់", "industrial", "misti", "012 345", "sok", "zzqx"])
def test_the_page_gets_what_each_kind_finds_on_its_own_in_one_statement(
    cast, staff, query, django_assert_num_queries
):
    # The results page sends the four kinds as one statement (plus the reader's role, read once
    # per request); what it gets must be exactly what each kind's own query finds, in its order.
    staff = type(staff).objects.get(pk=staff.pk)
    with django_assert_num_queries(2):
        results = search(query, user=staff)
    assert [o.pk for o in results.officials] == [
        o.pk for o in officials_matching(query, with_contact=True)[:LIMIT]
    ]
    assert [o.ministry.name_en for o in results.officials] == [
        o.ministry.name_en for o in officials_matching(query, with_contact=True)[:LIMIT]
    ]
    assert [c.pk for c in results.courses] == [c.pk for c in courses_matching(query)[:LIMIT]]
    assert [(s.pk, s.starts_at, s.course.number) for s in results.sessions] == [
        (s.pk, s.starts_at, s.course.number) for s in sessions_matching(query)[:LIMIT]
    ]
    assert [(m.pk, [f.valid_to for f in former]) for m, former in results.ministries] == [
        (m.pk, [f.valid_to for f in former]) for m, former in ministries_matching(query)
    ]


def test_a_kind_that_can_match_nothing_is_left_out_of_the_statement(cast, staff, monkeypatch):
    monkeypatch.setattr(search_module, "officials_matching", lambda query, **kw: Official.objects.none())
    results = search("industrial", user=staff)
    assert results.officials == [] and [course.number for course in results.courses] == [1]
