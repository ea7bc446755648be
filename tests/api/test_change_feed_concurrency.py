"""Property: whatever concurrent transactions do, a partner following the feed ends exact.

Real concurrent transactions on PostgreSQL: writer threads each hold their transaction open for
a random time while a reader syncs in a loop; after the writers stop and one final sync, the
mirror equals the database row by row. Seeded, so a failing run can be replayed.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from courses.models import Session
from participants.models import Attendance, Enrollment, Official
from pcp_portal.api import PerKeyRateThrottle
from tests.api.test_change_feed import RESOURCES, feed, follow, full_download
from tests.conftest import require
from tests.factories import CourseFactory, EnrollmentFactory, MinistryFactory, OfficialFactory, SessionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

SEEDS = range(50)
WRITERS = 3
TRANSACTIONS_PER_WRITER = 25


def _write(rng: random.Random, ministry_id: int, session_ids: list[int]) -> None:
    """One random change to a random row."""
    kind = rng.choice(["official", "rename", "attendance", "attendance", "delete", "session", "position"])
    if kind == "official":
        official = Official.objects.create(
            family_name=f"New{rng.randrange(10**6)}", given_name="A", ministry_id=ministry_id
        )
        course_id = (
            Session.objects.filter(pk=rng.choice(session_ids)).values_list("course_id", flat=True).get()
        )
        Enrollment.objects.create(
            official=official, course_id=course_id, enrolled_on="2020-02-01", ministry_id=ministry_id
        )
        return
    if kind == "rename":
        pk = Official.objects.order_by("?").values_list("pk", flat=True).first()
        Official.objects.filter(pk=pk).update(given_name=f"Renamed{rng.randrange(10**6)}")
        return
    if kind == "attendance":
        enrollment = Enrollment.objects.order_by("?").select_related("course").first()
        session_id = (
            Session.objects.filter(course_id=enrollment.course_id)
            .order_by("?")
            .values_list("pk", flat=True)
            .first()
        )
        row, created = Attendance.objects.get_or_create(
            enrollment=enrollment, session_id=session_id, defaults={"status": rng.choice(["present", "late"])}
        )
        if not created:
            row.status = rng.choice(["present", "late", "absent", "excused"])
            row.version += 1
            row.save()
        return
    if kind == "delete":
        pk = Attendance.objects.order_by("?").values_list("pk", flat=True).first()
        if pk:
            Attendance.objects.filter(pk=pk).delete()
        return
    if kind == "session":
        Session.objects.filter(pk=rng.choice(session_ids)).update(title=f"Session {rng.randrange(10**6)}")
        return
    pk = Enrollment.objects.order_by("?").values_list("pk", flat=True).first()
    Enrollment.objects.filter(pk=pk).update(position=f"Officer {rng.randrange(10**6)}")


def _writer(seed: int, ministry_id: int, session_ids: list[int], errors: list) -> None:
    rng = random.Random(seed)
    try:
        for _ in range(TRANSACTIONS_PER_WRITER):
            try:
                with transaction.atomic():
                    for _step in range(rng.randint(1, 3)):
                        _write(rng, ministry_id, session_ids)
                        time.sleep(rng.uniform(0, 0.004))
                    time.sleep(rng.uniform(0, 0.012))  # hold the transaction open a while
                    if rng.random() < 0.1:
                        raise _RollBack
            except (_RollBack, IntegrityError, OperationalError):
                pass  # a rolled-back transaction (chosen, unique clash or deadlock) changes nothing
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)
    finally:
        connection.close()


class _RollBack(Exception):
    pass


def test_a_mirror_following_the_feed_equals_the_database_after_concurrent_random_changes(
    partner_api, monkeypatch
):
    require(connection.vendor == "postgresql", "needs PostgreSQL: real concurrent transactions")
    # The reader polls far faster than a partner's budget allows; throttling is tested elsewhere.
    monkeypatch.setattr(PerKeyRateThrottle, "THROTTLE_RATES", {"api": "1000000/minute"})
    ministry = MinistryFactory(code="mx")
    courses = [CourseFactory(), CourseFactory()]
    sessions = [SessionFactory(course=c) for c in courses for _ in range(2)]
    for i in range(8):
        EnrollmentFactory(
            official=OfficialFactory(ministry=ministry, family_name=f"Base{i}"), course=courses[i % 2]
        )
    session_ids = [s.pk for s in sessions]

    for seed in SEEDS:
        token = feed(partner_api)["next_since"]
        mirror = {resource: full_download(partner_api, resource) for resource in RESOURCES}
        errors: list = []
        writers = [
            threading.Thread(target=_writer, args=(seed * 100 + k, ministry.pk, session_ids, errors))
            for k in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        while any(w.is_alive() for w in writers):
            token = follow(partner_api, mirror, token)
            time.sleep(0.003)
        for writer in writers:
            writer.join()
        assert not errors, errors
        token = follow(partner_api, mirror, token)
        for resource in RESOURCES:
            actual = full_download(partner_api, resource)
            wrong = {
                pk: (mirror[resource].get(pk), actual.get(pk))
                for pk in set(mirror[resource]) | set(actual)
                if mirror[resource].get(pk) != actual.get(pk)
            }
            assert not wrong, f"seed {seed}: {resource} differs: {wrong}"
