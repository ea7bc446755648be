"""The preview's queries grow with rows / batch, not with rows: no query per row, whatever the file."""

from __future__ import annotations

import pytest

from participants.imports.plan import queue_preview
from participants.imports.progress import REPORT_EVERY
from participants.imports.tasks import preview_batch
from participants.models import ImportBatch
from participants.services import official_create
from tests.factories import CourseFactory

# Claim, load, the indexes (ministries, former names, officials, enrolments), the check for an
# earlier import of the same file, the stored plan; then one statement per progress report.
FIXED = 8


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


@pytest.mark.parametrize("count", [500, 5000])
def test_preview_queries_are_a_constant_plus_one_report_per_batch_of_rows(
    count, ministries, staff, django_assert_max_num_queries
):
    course = CourseFactory()
    official_create(family_name="Sok", given_name="Dara", ministry=ministries["misti"])
    official_create(
        family_name="Sok", given_name="Existing", ministry=ministries["misti"], email="existing@x.kh"
    )
    batch = queue_preview(
        kind="enrolments", filename="e.csv", data=enrolments(count), user=staff, course=course
    )
    reports = 2 + count // REPORT_EVERY + 1
    with django_assert_max_num_queries(FIXED + reports):
        preview_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and len(batch.rows) == count
    assert batch.counts["decide"] > 0 and batch.counts["error"] > 0 and batch.counts["create"] > 0
