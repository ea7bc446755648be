"""On PostgreSQL the apply writes officials, enrolments and their history rows with COPY
(pcp_portal.bulkcopy): the rows must be exactly those bulk_create writes, side effects included
(history user, type, reason and address, search columns, rollups, change feed)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from participants import services
from participants.imports.apply import ImportRefused, apply_import, queue_apply
from participants.models import Enrollment, EnrolmentRollup, ImportBatch, Official
from pcp_portal import bulkcopy
from pcp_portal.models import OutboxEvent
from tests.factories import CourseFactory, MinistryFactory, OfficialFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

STAMPS = {"id", "created_at", "updated_at", "history_id", "history_date"}


def _written(since: dict[str, int]) -> dict[str, list[dict]]:
    """Every row written since the ids in `since`, in id order, the ids and timestamps replaced by
    their rank among the new rows (the two writes take different ids from the sequences)."""
    official_history = Official.history.filter(history_id__gt=since["official history"])
    officials = sorted(
        {
            *Official.objects.filter(pk__gt=since["official"]).values_list("pk", flat=True),
            *official_history.values_list("id", flat=True),  # the officials changed
        }
    )
    enrolments = list(
        Enrollment.objects.filter(pk__gt=since["enrollment"]).order_by("pk").values_list("pk", flat=True)
    )
    rank = {
        "official": {pk: n for n, pk in enumerate(officials)},
        "enrollment": {pk: n for n, pk in enumerate(enrolments)},
    }

    def norm(row: dict, **ids: str) -> dict:
        out = {key: value for key, value in row.items() if key not in STAMPS}
        for key, kind in ids.items():
            out[key] = rank[kind].get(row[key], row[key])
        return out

    tables = {
        "officials": [
            norm(r, id="official") for r in Official.objects.filter(pk__in=officials).order_by("pk").values()
        ],
        "official history": [
            norm(r, id="official") for r in official_history.order_by("history_id").values()
        ],
        "enrolments": [
            norm(r, id="enrollment", official_id="official")
            for r in Enrollment.objects.filter(pk__in=enrolments).order_by("pk").values()
        ],
        "enrolment history": [
            norm(r, id="enrollment", official_id="official")
            for r in Enrollment.history.filter(id__in=enrolments).order_by("history_id").values()
        ],
        "rollups": [
            norm(r, enrollment_id="enrollment", official_id="official")
            for r in EnrolmentRollup.objects.filter(enrollment_id__in=enrolments)
            .order_by("enrollment_id")
            .values()
        ],
        "change feed": [
            (
                e.topic,
                e.name,
                e.op,
                rank["official" if e.name == "officials" else "enrollment"].get(int(e.object_id)),
            )
            for e in OutboxEvent.objects.filter(pk__gt=since["event"], topic="change").order_by("pk")
        ],
    }
    # The services give created_at, updated_at and the history's date one "now" per call; COPY
    # writes it, while bulk_create's auto_now reads the clock again for each row (microseconds
    # apart): compared apart from the rest.
    tables["instants"] = len(
        {
            *Official.objects.filter(pk__in=officials).values_list("created_at", flat=True),
            *Official.objects.filter(pk__in=officials).values_list("updated_at", flat=True),
            *official_history.values_list("history_date", flat=True),
            *Enrollment.objects.filter(pk__in=enrolments).values_list("created_at", flat=True),
            *Enrollment.history.filter(id__in=enrolments).values_list("history_date", flat=True),
        }
    )
    return tables


def _marks() -> dict[str, int]:
    def top(model) -> int:
        return model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0

    return {
        "official": top(Official),
        "official history": top(Official.history.model),
        "enrollment": top(Enrollment),
        "event": top(OutboxEvent),
    }


def _twice(write) -> tuple[dict, dict]:
    """`write()` with COPY, then (the first rolled back) with bulk_create: what each wrote."""
    results = []
    for copy in (True, False):
        with transaction.atomic(), mock.patch.object(bulkcopy, "available", return_value=copy):
            since = _marks()
            write()
            results.append(_written(since))
            transaction.set_rollback(True)
    return results[0], results[1]


def test_copy_writes_what_bulk_create_writes_with_odd_characters_and_the_clients_address(postgres, staff):
    ministry = MinistryFactory()
    course = CourseFactory()
    known = OfficialFactory(ministry=ministry, email="known@example.org")

    def write():
        officials = [
            Official(
                family_name=f"Keo\\{n}",
                given_name="Mony\tSok",
                name_km="កែវ មុន្នី\nថ្មី",
                sex="female",
                position="Officer \\N\r",
                ministry=ministry,
                email=f"Mony{n}@Example.org",
                phone=f"+855 12 {n:06d}",
            )
            for n in range(3)
        ]
        services.officials_create_many(officials=officials, changed_by=staff, checked=True)
        entries = [(services.Enrollee(o.pk, o.ministry_id, o.position), None) for o in [known, *officials]]
        services.enrollments_create_many(course=course, entries=entries, changed_by=staff)

    HistoricalRecords.context.request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    try:
        by_copy, by_bulk_create = _twice(write)
    finally:
        del HistoricalRecords.context.request
    assert by_copy.pop("instants") == 2  # one for the officials, one for the enrolments
    by_bulk_create.pop("instants")
    assert by_copy == by_bulk_create
    assert by_copy["officials"][0]["position"] == "Officer \\N\r"
    assert by_copy["officials"][0]["search_names"]  # written as save() writes them
    assert {row["ip_address"] for row in by_copy["official history"]} == {"203.0.113.9"}
    assert {
        (row["history_type"], row["history_user_id"], row["history_change_reason"])
        for row in by_copy["enrolment history"]
    } == {("+", staff.pk, None)}
    assert len(by_copy["rollups"]) == 4 and len(by_copy["change feed"]) == 3 + 4


def test_an_enrolments_import_applied_with_copy_writes_what_bulk_create_writes(
    postgres, preview, staff, ministries
):
    course = CourseFactory()
    OfficialFactory(
        ministry=ministries["misti"], email="mony1@example.org", family_name="Keo", given_name="Mony1"
    )
    lines = ["Family name,Given name,Name in Khmer,Sex,Position,Ministry,E-mail,Phone"]
    lines += [f"Keo,Mony{n},កែវ មុន្នី,female,Officer,MISTI,mony{n}@example.org,012 {n:06d}" for n in range(5)]
    batch = preview("list.csv", kind="enrolments", data="\n".join(lines).encode(), course=course)
    assert batch.counts["create"] == 5, batch.counts

    by_copy, by_bulk_create = _twice(lambda: apply_import(batch=batch, user=staff))
    assert by_copy.pop("instants") == 2
    by_bulk_create.pop("instants")
    assert by_copy == by_bulk_create
    assert len(by_copy["officials"]) == 4 and len(by_copy["enrolments"]) == 5
    assert len(by_copy["official history"]) == 4 and len(by_copy["enrolment history"]) == 5
    assert all(row["search_names"] and row["search_contact"] for row in by_copy["officials"])


def test_an_officials_import_updating_and_creating_writes_what_bulk_update_writes(
    postgres, preview, staff, ministries
):
    misti = ministries["misti"]
    known = [
        services.official_create(
            family_name="Sok",
            given_name=f"Dara{n}",
            ministry=misti,
            phone=f"012 345 67{n}",
            position="Officer",
        )
        for n in range(3)
    ]
    lines = ["Family name,Given name,Ministry,Phone,Position,Sex"]
    lines += [f"Sok,Dara{n},MISTI,+855 12 345 67{n},Deputy\\Director,female" for n in range(3)]
    lines += ["Chan,Vanna,MISTI,+855 99 000 111,Officer,male"]
    batch = preview("update.csv", data="\n".join(lines).encode())
    assert batch.counts["update"] == 3 and batch.counts["create"] == 1, batch.counts

    by_copy, by_bulk = _twice(lambda: apply_import(batch=batch, user=staff))
    by_copy.pop("instants"), by_bulk.pop("instants")
    assert by_copy == by_bulk
    changed = [row for row in by_copy["official history"] if row["history_type"] == "~"]
    assert [(row["position"], row["sex"], row["ministry_id"]) for row in changed] == [
        ("Deputy\\Director", "female", misti.pk)
    ] * 3
    assert len(by_copy["officials"]) == 4 and len(by_copy["change feed"]) == 4
    assert all(row["search_contact"] for row in by_copy["officials"])
    assert {o.pk for o in known} <= set(Official.objects.values_list("pk", flat=True))


def test_an_e_mail_taken_meanwhile_refuses_the_copy_and_writes_nothing(postgres, preview, staff, ministries):
    course = CourseFactory()
    batch = preview(
        "list.csv",
        kind="enrolments",
        data=b"Family name,Given name,Ministry,E-mail\nKeo,Mony,MISTI,mony@example.org\n",
        course=course,
    )
    OfficialFactory(email="MONY@example.org")  # after the preview
    officials = Official.objects.count()
    with pytest.raises(ImportRefused, match="e-mail address"):
        apply_import(batch=batch, user=staff)
    assert Official.objects.count() == officials and not Enrollment.objects.filter(course=course).exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED


def test_a_copy_that_breaks_a_constraint_raises_djangos_integrity_error(postgres):
    ministry = MinistryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulkcopy.copy_rows(Official, ["id", "ministry_id"], [(10**9, ministry.pk)])  # no name, no sex…
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize("count", [100, 1000])
def test_an_enrolments_apply_makes_a_fixed_number_of_statements_per_batch(
    count, postgres, ministries, staff, monkeypatch, django_assert_max_num_queries
):
    from participants.imports import plan, progress
    from participants.imports.tasks import apply_batch
    from tests.imports.test_background_preview import rows

    monkeypatch.setattr(plan, "PLAN_BATCH", 50)
    monkeypatch.setattr(services, "BULK_BATCH_SIZE", 50)
    monkeypatch.setattr(progress, "REPORT_EVERY", 100)
    course = CourseFactory()
    batch = plan.queue_preview(
        kind="enrolments", filename="big.csv", data=rows(count), user=staff, course=course
    )
    plan.preview_queued(batch.pk)
    batch = queue_apply(batch=ImportBatch.objects.get(pk=batch.pk), user=staff)
    batches = count // 50
    # Per batch of the plan: its SELECT; the new officials (savepoint, ids, two COPYs, release);
    # their enrolments (savepoint, the course locked, its dates, the ministries, ids, two COPYs,
    # the rollups' lock and upsert, release); a progress report now and then. Nothing per row.
    with django_assert_max_num_queries(30 + 16 * batches):
        apply_batch(batch.pk)
    assert Enrollment.objects.filter(course=course).count() == count
    assert EnrolmentRollup.objects.filter(course=course).count() == count
