"""The portal's search box: officials, courses, sessions and ministries for one typed text.

Officials are found by their stored search columns (Official.search_names, .search_contact), which
hold the names as pcp_portal.text.name_key reads them: case, spaces, zero-width characters, Unicode
form and Khmer look-alike spellings do not matter, and a part of a name is enough. A phone number
may be typed in Latin or Khmer digits, with or without +855. Contact data is matched only for
editors (roles.can_edit); nobody else can learn a phone number by trying numbers.

On PostgreSQL a GIN trigram index serves the officials' LIKE '%…%' (participants migration 0009)
and results are ranked by trigram word similarity (officials) or full-text rank (courses and
sessions); SQLite matches the same rows with plain LIKE and orders them by name. Which rows match
is decided by the same conditions on both, so the two answer alike. The four kinds' querysets go
to the database as one statement (search(), below the querysets).
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    F,
    FloatField,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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
    return _ministries_hit(query, _ministry_rows().values_list(*MINISTRY_COLUMNS))


def _ministry_rows() -> QuerySet[Ministry]:
    return Ministry.objects.order_by("name_en", "pk", "-former_names__valid_to")


# A ministry's columns, then those of one former name the results page shows.
MINISTRY_COLUMNS = (
    "pk",
    "code",
    "name_en",
    "name_km",
    "acronym",
    *(f"former_names__{n}" for n in ("name_en", "name_km", "acronym", "valid_to")),
)


# Ministry names are few and change rarely: their keys are remembered by text (never stale).
_ministry_key = functools.lru_cache(maxsize=4096)(name_key)


def _ministries_hit(query: str, rows) -> list[tuple[Ministry, list[MinistryName]]]:
    """The ministries among `rows` (MINISTRY_COLUMNS, one per ministry and former name) that the
    query names, each with the former names that matched."""
    key = name_key(query)
    if not key:
        return []

    def hit(*texts: str) -> bool:
        return any(key in _ministry_key(text) for text in texts if text)

    found: dict[int, tuple[Ministry, list[MinistryName]]] = {}
    for pk, code, name_en, name_km, acronym, *former in rows:
        former_en, former_km, former_acronym, valid_to = former
        ministry_hit = hit(name_en, name_km, acronym, code)
        former_hit = former_en is not None and hit(former_en, former_km, former_acronym)
        if not (ministry_hit or former_hit):
            continue
        ministry = Ministry(pk=pk, code=code, name_en=name_en, name_km=name_km, acronym=acronym)
        entry = found.setdefault(pk, (ministry, []))
        if former_hit:
            if isinstance(valid_to, str):  # read as text in the one statement
                valid_to = datetime.date.fromisoformat(valid_to[:10])
            entry[1].append(
                MinistryName(
                    ministry_id=pk,
                    name_en=former_en,
                    name_km=former_km,
                    acronym=former_acronym,
                    valid_to=valid_to,
                )
            )
    return list(found.values())


def _first(rows, limit: int, kind: str, more: set[str]) -> list:
    rows = list(rows[: limit + 1])
    if len(rows) > limit:
        more.add(kind)
    return rows[:limit]


# --- every kind in one statement ------------------------------------------------------------------
#
# The results page asks for four kinds; four round trips cost more than the small three of them
# take to answer (benchmarks/search.py). So the four querysets above, unchanged, are compiled and
# sent as one UNION ALL: each kind a sub-select with its own ORDER BY and LIMIT, its rows numbered
# in that order, in a common set of columns. Which rows match and in which order is exactly what
# the querysets say, on both databases.

TEXT_COLUMNS = tuple(f"t{number}" for number in range(1, 9))
# Each column's type, for the NULLs of the kinds without it: typed, or a sub-select's NULL is text
# on PostgreSQL and UNION cannot match it to a number (SQLite takes any type name).
COLUMN_TYPES = {**dict.fromkeys(TEXT_COLUMNS, "text"), "n1": "bigint", "n2": "bigint"}
COLUMN_TYPES["moment"] = "timestamp with time zone"
COLUMNS = ("row_id", *COLUMN_TYPES, "rank")


def _aligned(rows: QuerySet, rank, **columns) -> QuerySet:
    """`rows` as values of the named columns (as `<name>_`), its row id and its rank."""
    named = {f"{name}_": value for name, value in columns.items()}
    return rows.annotate(row_id=F("pk"), rank_=rank, **named).values_list("row_id", "rank_", *named)


def _text(name: str):
    return Cast(name, output_field=TextField())


# The officials, courses and sessions querysets annotate "rank" on PostgreSQL and order by it.
NO_RANK = Value(0.0, output_field=FloatField())


def _rank(rows: QuerySet):
    return F("rank") if "rank" in rows.query.annotations else NO_RANK


# Within a kind, the rows in their queryset's order: the window repeats that ORDER BY over the
# (at most limit + 1) rows of the sub-select, in the sub-select's own columns.
WINDOW_ORDER = {
    "o": "rank_ DESC, t1_, t2_, row_id",
    "c": "rank_ DESC, n1_, n2_",
    "s": "rank_ DESC, moment_, row_id",
    "m": "t2_, row_id, t8_ DESC",
}


def _branch(kind: str, rows: QuerySet) -> tuple[str, list]:
    """One kind's part of the statement: its rows numbered in order, in every column."""
    sql, params = rows.query.sql_with_params()
    present = set(rows.query.values_select) | set(rows.query.annotation_select)
    selected = ", ".join(
        f"{name}_" if f"{name}_" in present else f"CAST(NULL AS {kind_of})"
        for name, kind_of in COLUMN_TYPES.items()
    )
    return (
        f"SELECT '{kind}' AS kind, ROW_NUMBER() OVER (ORDER BY {WINDOW_ORDER[kind]}) AS position, "
        f"row_id, {selected}, rank_ FROM ({sql}) AS {kind}_rows",
        list(params),
    )


def _ministries_branch() -> tuple[str, list]:
    """Every ministry with its former names: the same text on every search, so compiled once."""
    return _branch(
        "m",
        _aligned(
            _ministry_rows(),
            NO_RANK,
            t1=F("code"),
            t2=F("name_en"),
            t3=F("name_km"),
            t4=F("acronym"),
            t5=F("former_names__name_en"),
            t6=F("former_names__name_km"),
            t7=F("former_names__acronym"),
            t8=_text("former_names__valid_to"),
        ),
    )


_compiled_ministries: dict[str, tuple[str, list]] = {}


def _one_statement(branches: dict[str, QuerySet]) -> tuple[str, list]:
    parts, params = [], []
    for kind, rows in branches.items():
        try:
            sql, branch_params = _branch(kind, rows)
        except EmptyResultSet:  # a kind that can match nothing (QuerySet.none()) is left out
            continue
        parts.append(sql)
        params.extend(branch_params)
    if connection.vendor not in _compiled_ministries:
        _compiled_ministries[connection.vendor] = _ministries_branch()
    sql, branch_params = _compiled_ministries[connection.vendor]
    parts.append(sql)
    params.extend(branch_params)
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2", params


def _moment(value):
    """A session's start as the ORM would give it (SQLite's raw rows hold text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
    return value


def search(text: str, *, user, limit: int = LIMIT) -> SearchResults:
    query, truncated = clean_query(text)
    results = SearchResults(query=query, truncated=truncated)
    if not query:
        return results
    officials = officials_matching(query, with_contact=roles.can_edit(user))
    courses = courses_matching(query)
    sessions = sessions_matching(query)
    branches = {
        "o": _aligned(
            officials,
            _rank(officials),
            t1=F("family_name"),
            t2=F("given_name"),
            t3=F("name_km"),
            t4=F("phone"),
            n1=F("ministry_id"),
        ),
        "c": _aligned(
            courses,
            _rank(courses),
            t1=F("title"),
            t2=F("venue"),
            t3=F("status"),
            n1=F("project_id"),
            n2=F("number"),
        ),
        "s": _aligned(
            sessions,
            _rank(sessions),
            t1=F("title"),
            t2=F("venue"),
            t3=F("status"),
            n1=F("course_id"),
            n2=F("course__number"),
            moment=F("starts_at"),
        ),
    }
    for kind in branches:
        branches[kind] = branches[kind][: limit + 1]
    sql, params = _one_statement(branches)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_kind: dict[str, list] = {"o": [], "c": [], "s": [], "m": []}
    for kind, _position, *values in rows:
        by_kind[kind].append(values)

    ministry_values = [row[:9] for row in by_kind["m"]]
    results.ministries = _first(_ministries_hit(query, ministry_values), limit, "ministries", results.more)
    # Every ministry is in those rows: the officials' ministries come from them, without a join.
    wanted = {values[9] for values in by_kind["o"]}
    ministries = {
        pk: Ministry(pk=pk, code=code, name_en=name_en, name_km=name_km, acronym=acronym)
        for pk, code, name_en, name_km, acronym, *_former in ministry_values
        if pk in wanted
    }

    found_officials = []
    for pk, family_name, given_name, name_km, phone, *values in by_kind["o"]:
        official = Official(
            pk=pk,
            family_name=family_name,
            given_name=given_name,
            name_km=name_km,
            phone=phone,
            ministry_id=values[4],
        )
        official.ministry = ministries.get(values[4])
        found_officials.append(official)
    results.officials = _first(found_officials, limit, "officials", results.more)
    results.courses = _first(
        [
            Course(pk=pk, title=title, venue=venue, status=status, project_id=values[5], number=values[6])
            for pk, title, venue, status, *values in by_kind["c"]
        ],
        limit,
        "courses",
        results.more,
    )
    found_sessions = []
    for pk, title, venue, status, *values in by_kind["s"]:
        session = Session(pk=pk, title=title, venue=venue, status=status, course_id=values[5])
        session.starts_at = _moment(values[7])
        session.course = Course(pk=values[5], number=values[6])
        found_sessions.append(session)
    results.sessions = _first(found_sessions, limit, "sessions", results.more)
    return results
