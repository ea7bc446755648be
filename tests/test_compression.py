"""Pages light on a prepaid phone: gzip for every browser that accepts it (GZipMiddleware), static
files left to WhiteNoise, and the register of 23 officials at most 15 KB over the wire.

The 503 of a database outage, streaming CSV exports and the API go through the same middleware and
must arrive whole.
"""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.urls import path, reverse

from tests.factories import AttendanceFactory, EnrollmentFactory, OfficialFactory, SessionFactory

PHONE = "Mozilla/5.0 (Linux; Android 12; moto e22) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile"
BUDGET = 15 * 1024  # bytes of register HTML over the wire


def _database_gone(request):
    raise OperationalError("unable to open database file")


def _small(request):
    return HttpResponse("ok")


# Used with @pytest.mark.urls: a page whose database has gone, and one too short to compress.
urlpatterns = [path("gone/", _database_gone), path("small/", _small)]


@pytest.fixture
def register_of_23(db, staff):
    session = SessionFactory(title="Metrology in practice")
    for n in range(23):
        official = OfficialFactory(family_name=f"Chan{n:02d}", given_name="Sreymom")
        enrollment = EnrollmentFactory(course=session.course, official=official)
        if n % 3 == 0:
            AttendanceFactory(
                enrollment=enrollment, session=session, status="late", recorded_by=staff, note="bus"
            )
    return session


def gunzip(response) -> bytes:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response["Content-Encoding"] == "gzip"
    return gzip.decompress(body)


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_register_of_23_reaches_a_phone_gzipped_in_15_kb_or_less(staff_client, register_of_23, language):
    staff_client.cookies["django_language"] = language
    url = reverse("session_detail", args=[register_of_23.pk])
    plain = staff_client.get(url, HTTP_USER_AGENT=PHONE)
    response = staff_client.get(url, HTTP_USER_AGENT=PHONE, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert "Accept-Encoding" in response["Vary"]
    assert len(response.content) <= BUDGET, f"{len(response.content)} bytes gzipped"
    html = gunzip(response).decode()
    assert html.count('class="register-row') == 23 and f'<html lang="{language}">' in html
    assert "Content-Encoding" not in plain  # a client that does not offer gzip gets the page as it is
    assert len(plain.content) > 4 * len(response.content)


def test_a_streaming_csv_export_arrives_whole_when_gzipped(officer_client, register_of_23):
    url = reverse("reports:export", args=["attendance", "csv"])
    plain = officer_client.get(url)
    gzipped = officer_client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert gzipped.status_code == plain.status_code == 200
    text = gunzip(gzipped).decode("utf-8-sig")
    assert text == b"".join(plain.streaming_content).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + 8  # the header and each attendance recorded


def test_the_api_answers_gzipped_json_to_a_client_that_accepts_it(officer_client, register_of_23):
    response = officer_client.get("/api/v1/reports/attendance-summary/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert json.loads(gunzip(response))["groups"]


@pytest.mark.urls("tests.test_compression")
def test_the_503_of_a_database_outage_still_answers_503_with_retry_after(client):
    response = client.get("/gone/", HTTP_ACCEPT_ENCODING="gzip", HTTP_ACCEPT_LANGUAGE="km")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert '<html lang="km"' in gunzip(response).decode()


@pytest.mark.urls("tests.test_compression")
def test_a_body_too_short_to_gain_is_sent_as_it_is(client):
    response = client.get("/small/", HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in response and response.content == b"ok"


def test_static_files_are_left_to_whitenoise(client):
    response = client.get("/static/css/portal.css", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    # WhiteNoise answered before GZipMiddleware: its own headers, its file untouched.
    assert response.get("Content-Encoding") != "gzip" or "Content-Length" in response
    assert b"".join(response.streaming_content).startswith(b"/* PCP Portal")
