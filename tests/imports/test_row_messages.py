"""Every row message of a hostile file says the row, the column as the file names it, the value read,
and what to do, in the language of the person who uploaded it: in Khmer, no English status word and
no internal field key.

The files go through the page's path (queued, then previewed by the worker's task), so the language
is the uploader's, carried to the worker on the batch.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from participants.imports.plan import queue_preview
from participants.imports.tasks import preview_batch
from participants.models import ImportBatch
from participants.services import enrollment_create, official_create
from tests.factories import CourseFactory, OfficialFactory, SessionFactory

OFFICIALS_HEADER = "Family name,Given name,Ministry,E-mail,Sex,Preferred language,Official ID"
ENGLISH = re.compile(r"^Row (?P<line>\d+), column “(?P<column>[^”]+)”, “(?P<value>[^”]*)”: (?P<problem>.+)$")
KHMER = re.compile(r"^ជួរ (?P<line>\d+) ជួរឈរ “(?P<column>[^”]+)” តម្លៃ “(?P<value>[^”]*)”៖ (?P<problem>.+)$")
# What to do, in each language: every message ends with an instruction.
INSTRUCTION = {
    "en": re.compile(r"\b(write|correct|give|keep|shorten|enrol|check|import|reinstate)\b", re.IGNORECASE),
    "km": "សូម",
}
# Neither English status words nor the portal's field keys may show through in Khmer.
NOT_IN_KHMER = re.compile(
    r"\b(present|late|excused|absent|female|male|other|unknown|duplicate|understood|email|e-mail|"
    r"ministry|status|note|family_name|given_name|name_km|official_id|preferred_language|row_code)\b"
)


def upload(staff, kind: str, data: str, language: str, **context) -> ImportBatch:
    with translation.override(language):
        batch = queue_preview(kind=kind, filename=f"{kind}.csv", data=data.encode(), user=staff, **context)
    # The worker runs in its own (English) language: the batch's language must win.
    with translation.override("en"):
        preview_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED, batch.message
    return batch


@pytest.fixture
def hostile_files(ministries):
    """Each file, and for each row in error the cell it is about: (column header, value)."""
    misti = ministries["misti"]
    OfficialFactory(email="taken@x.kh", family_name="Other", given_name="Person", name_km="", ministry=misti)
    known = official_create(family_name="Sok", given_name="Dara", ministry=misti, email="dara@x.kh")
    officials = [
        ("Sok,Dara,Nowhere,,,,", ("Ministry", "Nowhere")),
        ("Sok,Dara,MISTI,not-an-email,,,", ("E-mail", "not-an-email")),
        ("Sok,Dara,MISTI,,robot,,", ("Sex", "robot")),
        ("Sok,Dara,MISTI,,,fr,", ("Preferred language", "fr")),
        (",,MISTI,,,,", ("Family name / Given name", "")),
        ("Sok," + "D" * 101 + ",MISTI,,,,", ("Given name", "D" * 60 + "…")),
        ("Keo,Mony,MISTI,keo@x.kh,,,", None),
        ("Keo,Mony2,MISTI,keo@x.kh,,,", ("E-mail", "keo@x.kh")),  # the same person twice
        ("Chan,Vuthy,MEF,,,,99999", ("Official ID", "99999")),
        ("Lim,Pisey,MISTI,taken@x.kh,,,", ("E-mail", "taken@x.kh")),
        ("Ouk,,MISTI,,,,", ("Family name / Ministry", "Ouk MISTI")),  # no one, and not enough to add
        (f"Sok,Dara,MISTI,other@x.kh,,,{known.pk}", ("Official ID / E-mail", f"{known.pk} other@x.kh")),
    ]
    course = CourseFactory()
    session = SessionFactory(course=course)
    enrollment_create(official=known, course=course)
    official_create(family_name="Outside", given_name="Person", ministry=ministries["mef"])
    attendance = [
        ("SOK Dara,maybe,", ("Status", "maybe")),
        ("SOK Dara,present," + "x" * 600, ("Note", "x" * 60 + "…")),
        ("OUTSIDE Person,present,", ("Name", "OUTSIDE Person")),
        ("NOBODY Atall,present,", ("Name", "NOBODY Atall")),
    ]
    enrolments = [("Sok,Dara,MISTI,next Tuesday", ("Enrolled on", "next Tuesday"))]
    return [
        ("officials", OFFICIALS_HEADER, officials, {}),
        ("attendance", "Name,Status,Note", attendance, {"session": session}),
        ("enrolments", "Family name,Given name,Ministry,Enrolled on", enrolments, {"course": course}),
    ]


@pytest.mark.parametrize("language", ["en", "km"])
def test_each_row_message_names_the_row_the_column_the_value_and_what_to_do(staff, hostile_files, language):
    pattern = ENGLISH if language == "en" else KHMER
    checked = 0
    for kind, header, rows, context in hostile_files:
        data = "\n".join([header, *(line for line, _cell in rows)]) + "\n"
        batch = upload(staff, kind, data, language, **context)
        for row, (_line, cell) in zip(batch.rows, rows, strict=True):
            if cell is None:
                assert row["action"] != "error", row["reason"]
                continue
            assert row["action"] == "error", (kind, row)
            said = pattern.match(row["reason"])
            assert said, row["reason"]
            assert int(said["line"]) == row["line"]
            # The column as the file's header names it (whatever the reader's language), the value read.
            assert (said["column"], said["value"]) == cell, row["reason"]
            problem = said["problem"]
            assert re.search(INSTRUCTION[language], problem), row["reason"]
            if language == "km":
                assert not NOT_IN_KHMER.search(problem), row["reason"]
                assert re.search("[\u1780-\u17ff]", problem), row["reason"]
            checked += 1
    assert checked == 16
