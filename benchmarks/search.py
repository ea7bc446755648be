"""The portal's search at 50,000 officials against a bare pg_trgm query on the same table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_search .venv/bin/python -m benchmarks.search

"portal" is participants.search.search() as the results page calls it for an editor: officials
(trigram-indexed LIKE on the search columns, ranked by word similarity), courses and sessions
(LIKE per word, ranked by full-text rank), ministries (current and former names), 21 rows of each
at most. "baseline" is one hand-written statement that finds the same officials through the same
GIN trigram index and ranks them the same way, without the other kinds and without the ORM. Both
run on the same database in the same run, in alternating order; each query text is timed ROUNDS
times per side. Median and p95 are over every timing of a side. Also timed: the hostile texts of
the tests (2,000 characters, punctuation, SQL- and regex-like), which must answer within 1 s.

The officials (BENCH_SEARCH_OFFICIALS, default 50,000) are written once with bulk_create, with the
search columns the model's save() would write (participants.models.official_search_keys).
"""

from __future__ import annotations

import datetime
import os
import platform
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.results_file import write_section
from courses.models import Course, Project, Session
from courses.public_record import load_public_record
from ministries.models import Ministry
from participants.models import Official, official_search_keys
from participants.search import (
    LIMIT,
    clean_query,
    officials_matching,
    search,
    typed_phone_digits,
)
from pcp_portal.text import name_key

OFFICIALS = int(os.environ.get("BENCH_SEARCH_OFFICIALS", "50000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
MARKER = "bench-search"

FAMILY = [
    ("Chan", "ចាន់"),
    ("Sok", "សុខ"),
    ("Keo", "កែវ"),
    ("Heng", "ហេង"),
    ("Lim", "លឹម"),
    ("Meas", "មាស"),
    ("Chea", "ជា"),
    ("Prak", "ប្រាក់"),
    ("Phan", "ផាន"),
    ("Ouk", "អ៊ុក"),
    ("Nhem", "ញឹម"),
    ("Seng", "សេង"),
]
GIVEN = [
    ("Sophea", "សុភា"),
    ("Dara", "ដារ៉ា"),
    ("Sokha", "សុខា"),
    ("Vannak", "វណ្ណៈ"),
    ("Bopha", "បុប្ផា"),
    ("Rathana", "រតនា"),
    ("Pisey", "ពិសី"),
    ("Kosal", "កុសល"),
    ("Sreymom", "ស្រីមុំ"),
    ("Vichea", "វិជ្ជា"),
    ("Chanthou", "ចាន់ធូ"),
    ("Sothea", "សុធា"),
    ("Makara", "មករា"),
    ("Sovann", "សុវណ្ណ"),
]
# Typical texts people type: parts of names in both scripts, whole names either way round, phones
# in Latin and Khmer digits, a course word, and something that matches no one.
QUERIES = [
    "ចាន់",
    "chan",
    "sophea",
    "ចាន់ សុភា",
    "dara sok",
    "vichea",
    "heng sre",
    "012 345",
    "០៩៧ ៤២",
    "+855 12 40",
    "industrial",
    "ministry of industry",
    "zzqx",
]
PREFIXES = (12, 17, 77, 97, 92)
HOSTILE = ["x" * 2000, "!!!…,,,;;;---???", "' OR 1=1 --", "^(a+)+$", "%_%_%", ".*"]

BASELINE_NAMES = """
SELECT id, family_name, given_name, name_km, ministry_id FROM participants_official
WHERE search_names LIKE %(pattern)s
ORDER BY word_similarity(%(key)s, search_names) DESC, family_name, given_name, id LIMIT %(limit)s
"""
BASELINE_PHONE = """
SELECT id, family_name, given_name, name_km, ministry_id FROM participants_official
WHERE search_contact LIKE %(pattern)s ORDER BY family_name, given_name, id LIMIT %(limit)s
"""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def baseline(text: str) -> list:
    """The bare pg_trgm query: the same officials through the same index, nothing else."""
    query, _cut = clean_query(text)
    digits = typed_phone_digits(query)
    key = digits or name_key(query)
    with connection.cursor() as cursor:
        cursor.execute(
            BASELINE_PHONE if digits else BASELINE_NAMES,
            {"pattern": _like(key), "key": key, "limit": LIMIT + 1},
        )
        return cursor.fetchall()


def build(count: int) -> None:
    call_command("migrate", verbosity=0)
    load_public_record()
    if Official.objects.filter(position=MARKER).count() == count:
        return
    Official.objects.filter(position=MARKER).delete()
    rng = random.Random(14)
    ministries = list(Ministry.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    batch = []
    for number in range(count):
        family, family_km = rng.choice(FAMILY)
        given, given_km = rng.choice(GIVEN)
        official = Official(
            family_name=family,
            given_name=given,
            name_km=f"{family_km} {given_km}" if rng.random() < 0.9 else "",
            sex=rng.choice(("female", "male")),
            position=MARKER,
            ministry_id=rng.choice(ministries),
            email=f"{given.lower()}.{family.lower()}{number}@example.gov.kh" if rng.random() < 0.7 else "",
            phone=f"+855 {rng.choice(PREFIXES)} {rng.randrange(100, 999)} {rng.randrange(100, 999)}",
        )
        official.search_names, official.search_contact = official_search_keys(official)
        batch.append(official)
        if len(batch) == 5000:
            Official.objects.bulk_create(batch)
            batch = []
    Official.objects.bulk_create(batch)
    project = Project.objects.first()
    if not Course.objects.filter(project=project, number__gte=100).exists():
        for number in range(100, 140):
            course = Course.objects.create(
                project=project, number=number, title=f"Industrial policy {number}"
            )
            for day in range(10):
                Session.objects.create(
                    course=course,
                    title=f"Session {day + 1} of course {number}",
                    starts_at=timezone.now() + datetime.timedelta(days=day),
                )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE participants_official")
    print(f"built {count} officials in {time.perf_counter() - started:.1f} s", flush=True)


def editor():
    user, _created = get_user_model().objects.get_or_create(username="bench-search-editor")
    group_model = apps.get_model("auth", "Group")  # read once Django is set up (django_setup)
    user.groups.add(group_model.objects.get_or_create(name="mih_staff")[0])
    return get_user_model().objects.get(pk=user.pk)


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks.search needs PostgreSQL: set DATABASE_URL=postgres://...")
    build(OFFICIALS)
    user = editor()
    # The same officials on both sides, or the comparison means nothing.
    for text in QUERIES:
        portal_ids = [official.pk for official in search(text, user=user).officials]
        assert portal_ids == [row[0] for row in baseline(text)][:LIMIT], text
    search("warm", user=user)
    baseline("warm")
    times = {"portal": [], "baseline": []}
    per_query = {}
    for text in QUERIES:
        mine = {"portal": [], "baseline": []}
        for round_number in range(ROUNDS):
            sides = [
                ("portal", lambda t=text: search(t, user=user)),
                ("baseline", lambda t=text: baseline(t)),
            ]
            for name, fn in sides if round_number % 2 == 0 else reversed(sides):
                mine[name].append(timed(fn))
        per_query[text] = {name: statistics.median(values) for name, values in mine.items()}
        for name in times:
            times[name].extend(mine[name])
    hostile = {
        text[:30]: max(timed(lambda t=text: search(t, user=user)) for _ in range(3)) for text in HOSTILE
    }
    medians = {name: statistics.median(values) for name, values in times.items()}
    p95s = {name: p95(values) for name, values in times.items()}
    matched = {text: officials_matching(text, with_contact=True).count() for text in QUERIES}
    report(medians, p95s, per_query, hostile, matched)


def report(medians, p95s, per_query, hostile, matched) -> None:
    load = os.getloadavg()
    machine = f"{platform.processor() or platform.machine()}, nproc {os.cpu_count()}"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0].split()[0]
    lines = [
        "",
        "## Search at 50,000 officials (benchmarks/search.py)",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {machine}, load average "
        f"{load[0]:.1f} (the cores shared with other work); PostgreSQL {server}; {OFFICIALS:,} officials, "
        f"400 sessions. Each of {len(QUERIES)} texts timed {ROUNDS} times per side, in alternating order; "
        "median and p95 over all timings. `python -m benchmarks.search` reproduces it.",
        "",
        "| side | median | p95 |",
        "| --- | --- | --- |",
        f"| portal: `participants.search.search()` (officials, courses, sessions, ministries) | "
        f"{medians['portal'] * 1000:.1f} ms | {p95s['portal'] * 1000:.1f} ms |",
        f"| baseline: one bare `pg_trgm` query on the officials | {medians['baseline'] * 1000:.1f} ms | "
        f"{p95s['baseline'] * 1000:.1f} ms |",
        f"| **ratio** (goal ≤ 1.5×) | **{medians['portal'] / medians['baseline']:.2f}×** | "
        f"**{p95s['portal'] / p95s['baseline']:.2f}×** |",
        "",
        "| text | officials matching | portal (median) | baseline (median) |",
        "| --- | --- | --- | --- |",
    ]
    for text, figures in per_query.items():
        lines.append(
            f"| `{text}` | {matched[text]:,} | {figures['portal'] * 1000:.1f} ms | "
            f"{figures['baseline'] * 1000:.1f} ms |"
        )
    slowest = max(hostile.values())
    lines += [
        "",
        f"Hostile texts (2,000 characters, punctuation only, SQL- and regex-like), slowest of 3 each: "
        f"{slowest * 1000:.1f} ms at most (limit 1 s).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("## Search at 50,000 officials", text)


if __name__ == "__main__":
    main()
