"""The public verification page: a certificate whose holder no longer completes shows as withdrawn,
and each address may check only so many codes a minute."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from participants.certificates import certificate_still_valid, certificates_issue_for_course
from participants.models import Attendance, Certificate
from participants.services import attendance_record, enrollment_reinstate, enrollment_withdraw


@pytest.fixture(autouse=True)
def fresh_rate_limit(django_db_blocker):
    # The counts are in the shared cache: Redis, or a database table on the embedded default.
    with django_db_blocker.unblock():
        cache.clear()
    yield
    with django_db_blocker.unblock():
        cache.clear()


@pytest.fixture
def issued(world):
    certificates_issue_for_course(course=world["a"])
    return Certificate.objects.get(enrollment=world["e1"])  # o1: P P L A, 3 of 4 at 75 %: completed


def _correct(world, session_index: int, status: str) -> None:
    attendance_record(enrollment=world["e1"], session=world["a_sessions"][session_index], status=status)


def test_a_certificate_is_withdrawn_once_a_correction_takes_its_holder_below_the_threshold(
    world, issued, client
):
    assert "This certificate is genuine." in client.get(f"/verify/{issued.code}/").content.decode()

    _correct(world, 0, "absent")  # now 2 of 4: below 75 %

    response = client.get(f"/verify/{issued.code}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "has been withdrawn: it is no longer valid" in page
    assert "This certificate is genuine." not in page
    assert "Sreymom" in page and "Industrial policy" in page  # for whom and which course, no more
    assert Certificate.objects.filter(pk=issued.pk).exists()  # kept, never re-issued
    assert certificates_issue_for_course(course=world["a"]) == []


def test_a_correction_back_makes_it_valid_again(world, issued, client):
    _correct(world, 0, "excused")
    assert not certificate_still_valid(issued)
    _correct(world, 0, "late")
    assert certificate_still_valid(issued)
    assert "This certificate is genuine." in client.get(f"/verify/{issued.code}/").content.decode()


def test_a_withdrawn_enrolment_withdraws_its_certificate(world, issued, client):
    enrollment_withdraw(enrollment=world["e1"], reason="left the ministry")
    assert "no longer valid" in client.get(f"/verify/?code={issued.code}").content.decode()
    enrollment_reinstate(enrollment=world["e1"])
    assert certificate_still_valid(issued)


def test_only_held_sessions_count_when_checking_a_certificate(world, issued):
    # o1's mark at the future session is not counted; changing it changes nothing.
    Attendance.objects.filter(enrollment=world["e1"], session=world["future"]).update(status="absent")
    assert certificate_still_valid(issued)


def test_each_address_may_check_only_so_many_codes_a_minute(world, issued, client, settings):
    settings.PCP_VERIFY_PER_MINUTE = 3
    # A sliding minute (DRF's throttle): the fourth check within 60 seconds is refused.
    for _ in range(3):
        assert client.get("/verify/AAAA-BBBB-CCCC-DDDD/").status_code == 404
    limited = client.get(f"/verify/{issued.code}/")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    page = limited.content.decode()
    assert "Too many checks" in page and "Sreymom" not in page and "genuine" not in page
    # Another address has its own budget; the empty form is never limited.
    assert client.get(f"/verify/{issued.code}/", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/verify/").status_code == 200
