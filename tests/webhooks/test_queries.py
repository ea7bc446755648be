"""One dispatch batch costs the same number of queries whatever the number of changes in it.

transactional_db: on PostgreSQL, changes only become visible to the dispatcher once committed."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.services import session_create
from participants.services import attendance_record
from pcp_portal.webhooks import dispatch
from tests.factories import CourseFactory, EnrollmentFactory, SessionFactory
from tests.webhooks.conftest import settle


def make_changes(n: int) -> None:
    course = CourseFactory()
    session = SessionFactory(course=course)
    for i in range(n):
        session_create(course=course, title=f"S{i}")
        enrollment = EnrollmentFactory(course=course)
        attendance_record(enrollment=enrollment, session=session, status="present")


def queries_of_one_batch(subscription) -> int:
    settle()
    with CaptureQueriesContext(connection) as captured:
        count, more = dispatch.dispatch_subscription(subscription.pk, limit=10_000)
    assert count > 0 and not more
    return len(captured)


def test_a_dispatch_batch_costs_constant_queries(
    transactional_db, subscription, django_assert_max_num_queries
):
    make_changes(3)
    small = queries_of_one_batch(subscription)
    # SQLite caps the parameters of one statement (999), so a bulk INSERT of more rows is split;
    # PostgreSQL takes the whole batch in one.
    make_changes(60 if connection.vendor == "postgresql" else 15)
    settle()
    with django_assert_max_num_queries(small):
        dispatch.dispatch_subscription(subscription.pk, limit=10_000)
    assert small <= 25
