"""What partners see of a merge and its undo: the change feed stays exact, the deleted feed names
the survivor (the webhooks: tests/webhooks/test_official_merged.py)."""

import pytest

from participants.merging import official_merge, official_merge_undo
from tests.api.conftest import API, key_client, make_key
from tests.api.test_change_feed import assert_exact, first_sync, follow

# Committed for real: on PostgreSQL the feed only reads past transactions that have ended.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def partner_api(db):
    return key_client(make_key("partner"))


@pytest.fixture
def duplicate(chan, chan_again, course_one):
    from tests.factories import AttendanceFactory, EnrollmentFactory

    # Both in course 1 as well, so the merge also removes an enrolment and moves attendance.
    enrollment = EnrollmentFactory(official=chan_again, course=course_one)
    AttendanceFactory(enrollment=enrollment, session=course_one.test_sessions[2], status="present")
    return enrollment


def test_a_partner_following_the_feed_stays_exact_through_a_merge_and_its_undo(
    partner_api, chan, chan_again, duplicate, course_one, staff
):
    copy, token = first_sync(partner_api)
    kept = chan.enrollments.get(course=course_one)
    merge = official_merge(
        survivor_id=chan.pk, other_id=chan_again.pk, keep={course_one.pk: kept.pk}, merged_by=staff
    )
    token = follow(partner_api, copy, token)
    assert_exact(partner_api, copy)
    assert chan_again.pk not in copy["officials"] and duplicate.pk not in copy["enrollments"]
    assert {row["official"] for row in copy["enrollments"].values()} == {chan.pk}

    deleted = partner_api.get(f"{API}deleted/?resource=officials").json()["results"]
    assert [(row["object_id"], row["replaced_by"]) for row in deleted] == [(chan_again.pk, chan.pk)]

    official_merge_undo(merge_id=merge.pk, undone_by=staff)
    follow(partner_api, copy, token)
    assert_exact(partner_api, copy)
    assert chan_again.pk in copy["officials"] and duplicate.pk in copy["enrollments"]
    assert partner_api.get(f"{API}deleted/?resource=officials").json()["results"] == []
