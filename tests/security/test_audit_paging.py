"""The audit page pages by keyset ("older"/"newer" than the row a page ended on): walking it end to
end in either direction shows every change exactly once, in the trail's order, even when many
changes share one instant across several tables; a link that was tampered with gets a message
and the newest page, never an error."""

import datetime
import re
from html import unescape

import pytest

from pcp_portal import audit
from tests.security.test_audit_queries import _audited_models, make_history

pytestmark = pytest.mark.django_db

PAGE = 7


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(audit, "PAGE_SIZE", PAGE)


def _tied_trail(user) -> list[tuple[str, int]]:
    """60 changes over five tables, stamped with only three instants (so that pages end inside a
    run of rows of the same time, in the same and in different tables); the trail's full order."""
    make_history(60, user)
    instants = [datetime.datetime(2026, 3, d, 9, tzinfo=datetime.UTC) for d in (1, 2, 3)]
    for model in _audited_models():
        history = model.history.model
        for n, history_id in enumerate(
            history.objects.order_by("history_id").values_list("history_id", flat=True)
        ):
            history.objects.filter(history_id=history_id).update(history_date=instants[n % 3])
    rank = {key: n for n, (key, _a, _m) in enumerate(audit.AUDITED)}
    rows = [
        (row.history_date, rank[key], row.history_id, key)
        for key, app, name in audit.AUDITED
        for row in audit._history_model(app, name).objects.all()
    ]
    return [(key, history_id) for _d, _r, history_id, key in sorted(rows, reverse=True)]


def _keys(page) -> list[tuple[str, int]]:
    return [(key, record.history_id) for key, record in page.pairs]


def test_walking_older_then_newer_shows_every_change_once_in_order(superuser, small_pages):
    expected = _tied_trail(superuser)

    pages = [audit.changes_page()]
    while pages[-1].older is not None:
        pages.append(audit.changes_page(cursor=pages[-1].older))
    walked = [key for page in pages for key in _keys(page)]
    assert walked == expected  # nothing lost, nothing repeated, across ties in time and tables
    assert all(len(page.pairs) == PAGE for page in pages[:-1]) and pages[-1].pairs
    assert pages[0].newer is None and pages[-1].older is None

    back = [pages[-1]]
    while back[-1].newer is not None:
        back.append(audit.changes_page(cursor=back[-1].newer, older=False))
    # Coming back, each page is the one shown going there (the last one reached the top whole).
    assert [_keys(page) for page in back] == [_keys(page) for page in reversed(pages)]


def test_the_filters_hold_across_pages(superuser, staff, small_pages):
    _tied_trail(superuser)
    make_history(10, staff)  # newer rows by another user, interleaved at the top

    pages = [audit.changes_page(kind="attendance", username=superuser.username)]
    while pages[-1].older is not None:
        pages.append(
            audit.changes_page(cursor=pages[-1].older, kind="attendance", username=superuser.username)
        )
    pairs = [pair for page in pages for pair in page.pairs]
    assert len(pairs) == 24  # two attendance rows for each of the 12 officials
    assert {key for key, _r in pairs} == {"attendance"}
    assert {record.history_user_id for _k, record in pairs} == {superuser.pk}


def test_the_page_links_lead_through_the_trail(superuser, superuser_client, small_pages):
    expected = _tied_trail(superuser)
    seen = []
    url = "/audit/"
    while url:
        page = superuser_client.get(url).content.decode()
        seen.append(page.count('<ul class="audit-changes">'))
        older = re.search(r'href="\?([^"]*older=[^"]*)" rel="next"', page)
        url = "/audit/?" + unescape(older.group(1)) if older else None
    assert sum(seen) == len(expected) and seen[:-1] == [PAGE] * (len(seen) - 1)


@pytest.mark.parametrize(
    "query",
    [
        "older=yesterday",
        "older=2026-03-01T09:00:00~passwords~1",  # not an audited table
        "newer=2026-03-01T09:00:00~official~1",  # no time zone
        "older=2026-13-45T09:00:00%2B00:00~official~1",
        "older=2026-03-01T09:00:00%2B00:00~official~-1",
        "older=2026-03-01T09:00:00%2B00:00~official~99999999999999999999999",
        "older=2026-03-01T09:00:00%2B00:00~official~1~2",
        "newer=",
    ],
)
def test_a_forged_page_link_gets_a_message_and_the_newest_page(
    superuser, superuser_client, query, small_pages
):
    make_history(10, superuser)

    response = superuser_client.get(f"/audit/?{query}")

    assert response.status_code == 200
    page = response.content.decode()
    assert "That page link is not valid: showing the newest changes instead." in page
    assert page.count('<ul class="audit-changes">') == PAGE
    assert 'rel="prev"' not in page and 'rel="next"' in page
