"""Bad input gets a clear refusal and changes nothing; logs cannot be forged."""

import io
import json
import logging

from django.conf import settings
from django.test import Client, override_settings

from participants.models import Attendance, Official
from pcp_portal.logging import EscapingFormatter, JsonFormatter
from tests.factories import EnrollmentFactory, OfficialFactory, SessionFactory


@override_settings(PCP_MAX_REQUEST_BODY=4096)
def test_an_oversized_body_is_refused_with_413_and_saves_nothing(staff_client):
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    response = staff_client.post(
        f"/sessions/{session.pk}/register/",
        {"row": [str(enrollment.pk)], f"status-{enrollment.pk}": "present", "note": "x" * 10_000},
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not Attendance.objects.exists()


def test_an_overlong_query_string_is_refused_with_414(staff_client):
    response = staff_client.get("/courses/", {"q": "a" * (settings.PCP_MAX_QUERY_STRING + 1)})
    assert response.status_code == 414 and "too long" in response.content.decode()


def test_a_post_without_csrf_token_is_refused_and_saves_nothing(staff):
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post(
        f"/sessions/{session.pk}/register/",
        {"row": [str(enrollment.pk)], f"status-{enrollment.pk}": "present"},
    )
    assert response.status_code == 403
    assert not Attendance.objects.exists()


def test_html_in_a_name_is_escaped_on_the_pages(staff_client):
    session = SessionFactory()
    official = OfficialFactory(family_name="<script>alert(1)</script>", given_name="<b>x</b>")
    EnrollmentFactory(course=session.course, official=official)
    pages = [
        staff_client.get(url).content.decode()
        for url in (f"/courses/{session.course.pk}/", f"/sessions/{session.pk}/")
    ]
    assert not any("<script>alert(1)</script>" in page or "<b>x</b>" in page for page in pages)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;".lower() in page.lower() for page in pages)


def test_an_sql_looking_search_is_plain_text(superuser_client):
    OfficialFactory(family_name="Sok")
    response = superuser_client.get(f"/{settings.ADMIN_URL}participants/official/", {"q": "' OR '1'='1"})
    assert response.status_code == 200
    assert "0 officials" in response.content.decode() or "0 results" in response.content.decode()
    assert Official.objects.count() == 1


def _record(message, *args):
    return logging.LogRecord("pcp", logging.WARNING, __file__, 1, message, args, None)


def test_a_user_supplied_value_cannot_forge_a_log_line():
    forged = "mallory\r\n2026-01-01 INFO pcp login ok username=root"
    as_json = JsonFormatter().format(_record("login failed for %s", forged))
    assert "\n" not in as_json and "\r" not in as_json
    assert json.loads(as_json)["message"] == f"login failed for {forged}"
    plain = EscapingFormatter("%(levelname)s %(message)s").format(_record("login failed for %s", forged))
    assert plain == "WARNING login failed for mallory\\r\\n2026-01-01 INFO pcp login ok username=root"


def test_a_failed_log_in_with_a_line_break_in_the_username_logs_one_line(db):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    audit_logger = logging.getLogger("pcp_portal.audit")
    audit_logger.addHandler(handler)
    try:
        Client().post("/accounts/login/", {"username": "eve\nINFO login root", "password": "x"})
    finally:
        audit_logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["username"] == "eve\nINFO login root"


def test_workbooks_are_parsed_with_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True
