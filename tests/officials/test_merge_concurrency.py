"""Two tabs merging the same pair at once, on PostgreSQL with a connection per request: one merge
happens, the other is refused plainly, and nothing is half-moved."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from participants.models import Attendance, Enrollment, Official, OfficialMerge
from tests.factories import AttendanceFactory, EnrollmentFactory, OfficialFactory, SessionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _post_together(staff, bodies: list[dict]) -> list:
    """POST each body to the merge page from its own thread (its own connection), all at once."""
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def post(index: int, body: dict) -> None:
        try:
            client = Client()
            client.force_login(staff)
            barrier.wait(timeout=30)
            responses[index] = client.post(reverse("official_merge"), body)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.parametrize("direction", ["same", "crossed"])
def test_two_tabs_merging_one_pair_merge_once(postgres, staff, direction):
    a, b = OfficialFactory(family_name="Chan"), OfficialFactory(family_name="Chan")
    for official in (a, b):
        for _ in range(3):
            session = SessionFactory()
            enrollment = EnrollmentFactory(official=official, course=session.course)
            AttendanceFactory(enrollment=enrollment, session=session)
    first = {"survivor": a.pk, "other": b.pk}
    second = first if direction == "same" else {"survivor": b.pk, "other": a.pk}

    responses = _post_together(staff, [first, second])

    codes = sorted(response.status_code for response in responses)
    assert codes == [302, 400], [r.content.decode()[-3000:] for r in responses if r.status_code == 400]
    refused = next(r for r in responses if r.status_code == 400).content.decode()
    assert "no longer exists" in refused and "Nothing was changed." in refused
    assert OfficialMerge.objects.count() == 1
    survivor = OfficialMerge.objects.get().survivor_id
    assert list(Official.objects.values_list("pk", flat=True)) == [survivor]
    assert Enrollment.objects.filter(official_id=survivor).count() == 6
    assert Attendance.objects.filter(enrollment__official_id=survivor).count() == 6
