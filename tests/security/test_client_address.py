"""The change history and the log-in protection name the same client address, the person's and
not the reverse proxy's, through the one function pcp_portal.middleware.client_ip."""

from axes.models import AccessFailureLog
from django.test import Client, override_settings

from participants.models import Attendance
from tests.factories import EnrollmentFactory, SessionFactory

PROXY = "10.0.0.5"
CLIENT = "203.0.113.9"


def through_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


@override_settings(PCP_PROXY_COUNT=1)
def test_a_change_made_behind_the_trusted_proxy_records_the_client_s_address(staff):
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    client = through_proxy(f"192.0.2.66, {CLIENT}")  # the first entry is the client's own claim
    client.force_login(staff)

    response = client.post(
        f"/sessions/{session.pk}/register/{enrollment.pk}/", {"status": "present", "note": "", "version": 0}
    )

    assert response.status_code == 200, response.content
    row = Attendance.history.get(session_id=session.pk)
    assert row.ip_address == CLIENT


@override_settings(PCP_PROXY_COUNT=1)
def test_the_history_and_the_log_in_protection_see_the_same_address(staff, superuser):
    through_proxy(CLIENT).post("/accounts/login/", {"username": staff.username, "password": "wrong"})
    failure = AccessFailureLog.objects.get(username=staff.username)

    client = through_proxy(CLIENT)
    client.force_login(superuser)
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    client.post(
        f"/sessions/{session.pk}/register/{enrollment.pk}/", {"status": "late", "note": "", "version": 0}
    )

    assert failure.ip_address == CLIENT
    assert Attendance.history.get(session_id=session.pk).ip_address == failure.ip_address


@override_settings(PCP_PROXY_COUNT=0)
def test_without_a_configured_proxy_a_forwarded_header_is_not_believed(staff):
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    client = through_proxy(CLIENT)
    client.force_login(staff)

    client.post(
        f"/sessions/{session.pk}/register/{enrollment.pk}/", {"status": "present", "note": "", "version": 0}
    )

    assert Attendance.history.get(session_id=session.pk).ip_address == PROXY
