"""The portal's search box: officials, courses, sessions and ministries for one typed text.

Officials are found by their stored search columns (Official.search_names, .search_contact), which
hold the names as pcp_portal.text.name_key reads them: case, spaces, zero-width characters, Unicode
form and Khmer look-alike spellings do not matter, and a part of a name is enough. A phone number
may be typed in Latin or Khmer digits, with or without +855. Contact data is matched only for
editors (roles.can_edit); nobody else can learn a phone number by trying numbers.

On PostgreSQL a GIN trigram index serves the officials' LIKE '%…%' (participants migration 0009)
and results are ranked by trigram word similarity (officials) or full-text rank (courses and
sessions); SQLite matches the same rows with plain LIKE and orders them by name. Which rows match
is decided by the same conditions on both, so the two answer alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity
from django.db import connection
from django.db.models import Q, QuerySet, Value

from courses.models import Course, Session
from ministries.models import Ministry, MinistryName
from participants.models import Official
from pcp_portal import roles
from pcp_portal.text import INVISIBLE, SEARCH_MAX_LENGTH, clean_text, latin_digits, name_key, phone_key

# Longer text is cut here, and the page says so: no name, title or number is longer, and a
# 2,000-character paste must not become 1,000 LIKE conditions.
QUERY_MAX_LENGTH = SEARCH_MAX_LENGTH
LIMIT = 20
# A phone number as people type it: digits with spaces, dots, dashes, brackets, a leading +.
PHONE_TYPED = re.compile(r"\+?[\d\s().\-/]+")
PHONE_MIN_DIGITS = 3


@dataclass
class SearchResults:
    query: str
    truncated: bool = False
    officials: list[Official] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    ministries: list[tuple[Ministry, list[MinistryName]]] = field(default_factory=list)
    more: set[str] = field(default_factory=set)  # kinds with more rows than shown

    @property
    def count(self) -> int:
        return len(self.officials) + len(self.courses) + len(self.sessions) + len(self.ministries)


def clean_query(text: str) -> tuple[str, bool]:
    """The text to search for: NFC, without control or invisible characters, spaces collapsed,
    at most QUERY_MAX_LENGTH characters; and whether it was cut."""
    # Only a bounded prefix is cleaned: invisible characters may pad the start, but a pasted page
    # need not be walked character by character to search its first hundred.
    text = text or ""
    cut = len(text) > 4 * QUERY_MAX_LENGTH
    text = text[: 4 * QUERY_MAX_LENGTH]
    text = "".join(char for char in text if unicodedata.category(char) != "Cc" or char.isspace())
    text = clean_text(text.translate(INVISIBLE))
    return text[:QUERY_MAX_LENGTH].strip(), cut or len(text) > QUERY_MAX_LENGTH


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def typed_phone_digits(query: str) -> str:
    """The digits of a phone number as search compares them (pcp_portal.text.phone_key), or "" if
    the text is not a phone number. A part of a number typed with its country code ("+855 12 40")
    loses the code too: phone_key keeps it on numbers too short to be whole ones."""
    typed = latin_digits(query).strip()
    if not PHONE_TYPED.fullmatch(typed):
        return ""
    digits = phone_key(typed)
    if typed.startswith(("+855", "00855")) and digits.startswith("855"):
        digits = digits[3:].lstrip("0")
    return digits if len(digits) >= PHONE_MIN_DIGITS else ""


def officials_matching(query: str, *, with_contact: bool) -> QuerySet[Official]:
    # Only what the results page shows: a ministry row carries its sources (JSON) otherwise.
    officials = Official.objects.select_related("ministry").only(*OFFICIAL_COLUMNS)
    by_name = ("family_name", "given_name", "id")
    digits = typed_phone_digits(query)
    if with_contact and digits:
        # A phone number: only the phone column can hold it (one LIKE, one index).
        return officials.filter(search_contact__contains=digits).order_by(*by_name)
    key = name_key(query)
    if not key:
        return officials.none()
    condition = Q(search_names__contains=key)
    if with_contact and ("@" in query or "." in query):
        condition |= Q(search_contact__contains=query.lower().replace(" ", ""))
    officials = officials.filter(condition)
    if _is_postgres():
        return officials.annotate(rank=TrigramWordSimilarity(Value(key), "search_names")).order_by(
            "-rank", *by_name
        )
    return officials.order_by(*by_name)


def _every_word(query: str, fields: tuple[str, ...]) -> Q:
    """Each word of the query in one of the fields (a part of a word will do)."""
    condition = Q()
    for word in query.split():
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__icontains": word})
        condition &= either
    return condition


def _ranked(rows: QuerySet, query: str, fields: tuple[str, ...], order: tuple[str, ...]) -> QuerySet:
    if not _is_postgres():
        return rows.order_by(*order)
    vector = SearchVector(*fields, config="simple")
    words = SearchQuery(query, config="simple", search_type="websearch")
    return rows.annotate(rank=SearchRank(vector, words)).order_by("-rank", *order)


OFFICIAL_COLUMNS = (
    "family_name",
    "given_name",
    "name_km",
    "phone",
    "ministry__name_en",
    "ministry__name_km",
    "ministry__acronym",
)
COURSE_FIELDS = ("title", "topic", "venue")
SESSION_FIELDS = ("title", "topic", "venue", "course__title")


def courses_matching(query: str) -> QuerySet[Course]:
    rows = Course.objects.filter(_every_word(query, COURSE_FIELDS)).only(
        "project", "number", "title", "venue", "status"
    )
    return _ranked(rows, query, COURSE_FIELDS, ("project_id", "number"))


def sessions_matching(query: str) -> QuerySet[Session]:
    rows = (
        Session.objects.filter(_every_word(query, SESSION_FIELDS))
        .select_related("course")
        .only("title", "starts_at", "venue", "status", "course__number")
    )
    return _ranked(rows, query, SESSION_FIELDS, ("starts_at", "id"))


def ministries_matching(query: str) -> list[tuple[Ministry, list[MinistryName]]]:
    """Ministries whose current or a former name or acronym contains the query, each with the
    former names that matched. Compared in Python with name_key: there are a few dozen ministries
    (one query reads them with their former names), and so both databases answer exactly alike."""
    key = name_key(query)
    if not key:
        return []

    def hit(*texts: str) -> bool:
        return any(key in name_key(text) for text in texts if text)

    rows = Ministry.objects.values_list(
        "pk", "code", "name_en", "name_km", "acronym", *(f"former_names__{name}" for name in FORMER)
    ).order_by("name_en", "pk", "-former_names__valid_to")
    found: dict[int, tuple[Ministry, list[MinistryName]]] = {}
    for pk, code, name_en, name_km, acronym, *former in rows:
        ministry_hit = hit(name_en, name_km, acronym, code)
        former_name = MinistryName(ministry_id=pk, **dict(zip(FORMER, former, strict=True)))
        former_hit = former_name.name_en is not None and hit(
            former_name.name_en, former_name.name_km, former_name.acronym
        )
        if ministry_hit or former_hit:
            ministry = Ministry(pk=pk, code=code, name_en=name_en, name_km=name_km, acronym=acronym)
            entry = found.setdefault(pk, (ministry, []))
            if former_hit:
                entry[1].append(former_name)
    return list(found.values())


# The former names' columns the results page shows.
FORMER = ("name_en", "name_km", "acronym", "valid_to")


def _first(rows, limit: int, kind: str, more: set[str]) -> list:
    rows = list(rows[: limit + 1])
    if len(rows) > limit:
        more.add(kind)
    return rows[:limit]


def search(text: str, *, user, limit: int = LIMIT) -> SearchResults:
    query, truncated = clean_query(text)
    results = SearchResults(query=query, truncated=truncated)
    if not query:
        return results
    more = results.more
    results.officials = _first(
        officials_matching(query, with_contact=roles.can_edit(user)), limit, "officials", more
    )
    results.courses = _first(courses_matching(query), limit, "courses", more)
    results.sessions = _first(sessions_matching(query), limit, "sessions", more)
    results.ministries = _first(ministries_matching(query), limit, "ministries", more)
    return results
