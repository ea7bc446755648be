"""The preview's queries grow with rows / batch, not with rows: no query per row, whatever the file
(two files ten times apart, with small batches so that the batches count)."""

from __future__ import annotations

import pytest

from participants.imports import plan, progress
from participants.imports.plan import queue_preview
from participants.imports.tasks import preview_batch
from participants.models import ImportBatch
from participants.services import official_create
from tests.factories import CourseFactory

# Claim, load, clear a killed worker's rows, the indexes (ministries, former names, officials,
# enrolments), the check for an earlier import of the same file, the batch's outcome.
FIXED = 8
# Small batches, so that two files ten times apart differ by many batches.
PLAN_BATCH = 20
REPORT_EVERY = 100


def enrolments(count: int) -> bytes:
    lines = ["Family name,Given name,Ministry,E-mail,Phone,Enrolled on"]
    for n in range(count):
        # Every kind of row: new, existing by e-mail, possible duplicate, repeated, in error.
        if n % 50 == 1:
            lines.append("Sok,Dara,MISTI,,,01/02/2020")
        elif n % 50 == 2:
            lines.append("Sok,Existing,MISTI,existing@x.kh,,2020-02-01")
        elif n % 50 == 3:
            lines.append(f"Keo,Bad{n},Nowhere,,,")
        else:
            lines.append(f"Keo,Mony{n},MISTI,m{n}@x.kh,012 345 {n % 1000:03d},25/02/2020")
    return "\n".join(lines).encode()


@pytest.mark.parametrize("count", [200, 2000])
def test_preview_queries_are_a_constant_plus_one_per_batch_of_rows(
    count, ministries, staff, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(plan, "PLAN_BATCH", PLAN_BATCH)
    monkeypatch.setattr(progress, "REPORT_EVERY", REPORT_EVERY)
    course = CourseFactory()
    official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    official_create(
        family_name="Sok", given_name="Existing", ministry=ministries["misti"], email="existing@x.kh"
    )
    batch = queue_preview(
        kind="enrolments", filename="e.csv", data=enrolments(count), user=staff, course=course
    )
    # Two phases started, a report every REPORT_EVERY rows and at the end; an INSERT per batch.
    reports = 2 + count // REPORT_EVERY + 1
    inserts = -(-count // PLAN_BATCH)
    with django_assert_max_num_queries(FIXED + reports + inserts):
        preview_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.plan_rows.count() == count
    assert batch.counts["decide"] > 0 and batch.counts["error"] > 0 and batch.counts["create"] > 0
