"""Series certificates: issued by staff from the series page to the officials who complete the
series by its rule (series_status), once each, printed in both scripts, verified by the public
page, and shown as withdrawn once the holder no longer completes the series.

In the cast (tests/series/conftest.py) a completes the series (C1 and C2, the courses held); b,
c, d and e do not."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse

from participants import merging
from participants.certificates import (
    certificate_still_valid,
    certificates_issue_for_series,
)
from participants.models import Certificate
from participants.services import enrollment_reinstate, enrollment_withdraw
from tests.conftest import require
from tests.factories import OfficialFactory


@pytest.fixture(autouse=True)
def fresh_rate_limit(django_db_blocker):
    # /verify/ counts checks per address in the shared cache.
    with django_db_blocker.unblock():
        cache.clear()
    yield
    with django_db_blocker.unblock():
        cache.clear()


@pytest.fixture
def issued(series, staff):
    (certificate,) = certificates_issue_for_series(project=series["project"], issued_by=staff)
    return certificate


def test_only_the_official_who_completes_the_series_gets_one(series, issued, staff):
    a = series["officials"]["a"]
    assert issued.official == a and issued.series == series["project"] and issued.enrollment is None
    assert issued.holder_name == a.full_name and issued.holder_name_km == "ចាន់ ស្រីមុំ"
    assert issued.course_title == series["project"].title
    assert issued.completed_on is not None  # the day of the series' last held session
    assert certificate_still_valid(issued)


def test_issuing_twice_issues_nothing_more(series, issued, staff):
    assert certificates_issue_for_series(project=series["project"], issued_by=staff) == []
    assert Certificate.objects.filter(series=series["project"]).count() == 1


def test_the_database_refuses_a_second_certificate_or_a_certificate_of_both_kinds(series, issued):
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(
            series=series["project"], official=issued.official, code="X", holder_name="x", course_title="x"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(
            enrollment=series["enrolments"][("b", 1)],
            series=series["project"],
            official=series["officials"]["b"],
            code="Y",
            holder_name="x",
            course_title="x",
        )


def test_staff_issue_them_from_the_series_page(series, staff_client):
    url = reverse("series_certificates_issue", args=[series["project"].pk])
    response = staff_client.post(url, follow=True)
    assert "1 series certificates issued." in response.content.decode()
    page = staff_client.get(reverse("series_detail", args=[series["project"].pk])).content.decode()
    assert "1 series certificate issued." in page
    response = staff_client.post(url, follow=True)
    assert "No new series certificates" in response.content.decode()
    assert Certificate.objects.filter(series=series["project"]).count() == 1


def test_the_verification_page_shows_a_series_certificate(series, issued, client):
    page = client.get(reverse("certificate_verify_code", args=[issued.code])).content.decode()
    assert "This certificate is genuine." in page
    assert "Series of courses" in page and series["project"].title in page
    assert "Sreymom" in page


def test_it_is_withdrawn_once_the_holder_no_longer_completes_the_series(series, issued, client):
    enrollment = series["enrolments"][("a", 2)]
    enrollment_withdraw(enrollment=enrollment, reason="recorded in error")
    assert not certificate_still_valid(issued)
    page = client.get(reverse("certificate_verify_code", args=[issued.code])).content.decode()
    assert "has been withdrawn: it is no longer valid" in page
    assert "no longer completes the series" in page
    assert Certificate.objects.filter(pk=issued.pk).exists()  # kept, never re-issued
    enrollment_reinstate(enrollment=enrollment)
    assert certificate_still_valid(issued)


def test_the_pdf_is_bilingual(series, issued, officer_client, tmp_path):
    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils)")
    for url in (
        reverse("series_certificates_pdf", args=[series["project"].pk]),
        reverse("reports:certificate_pdf", args=[issued.code]),
    ):
        response = officer_client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        path = tmp_path / "series-certificate.pdf"
        path.write_bytes(response.content)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        assert "has completed the series of courses" in text
        assert "CHAN Sreymom" in text and issued.code in text
        # Shaped Khmer comes back from a PDF only in pieces: the series' word and the family name.
        assert "ស៊េរីវគ្គ" in text and "ចាន់" in text
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, timeout=60).stdout
        assert "Khmer" in fonts


def test_the_series_page_speaks_khmer_about_certificates(series, issued, staff_client):
    staff_client.cookies["django_language"] = "km"
    body = staff_client.get(
        reverse("series_detail", args=[series["project"].pk]), HTTP_ACCEPT_LANGUAGE="km"
    ).content.decode()
    for english in ("Series certificates", "series certificate issued", "Issue series certificates"):
        assert english not in body, english


def test_a_merge_moves_a_series_certificate_to_the_survivor_and_undo_moves_it_back(series, issued, staff):
    survivor = OfficialFactory(family_name="Chan", given_name="Sreymom")
    merge = merging.official_merge(survivor_id=survivor.pk, other_id=issued.official_id, merged_by=staff)
    issued.refresh_from_db()
    assert issued.official_id == survivor.pk
    assert certificate_still_valid(issued)  # the survivor has the enrolments that completed it
    merging.official_merge_undo(merge_id=merge.pk, undone_by=staff)
    issued.refresh_from_db()
    assert issued.official_id == series["officials"]["a"].pk


def test_a_merge_of_two_holders_of_the_same_series_certificate_is_refused(series, issued, staff):
    b = series["officials"]["b"]
    Certificate.objects.create(
        series=series["project"], official=b, code="TEST-ONLY-CODE", holder_name="KEO Dara", course_title="x"
    )
    # Both are enrolled in C1 and C2: the enrolments are chosen, so only the certificates conflict.
    keep = {course.pk: series["enrolments"][("a", course.number)].pk for course in series["courses"][:2]}
    with pytest.raises(merging.MergeRefused, match="certificate of the series"):
        merging.official_merge(survivor_id=b.pk, other_id=issued.official_id, keep=keep, merged_by=staff)
    issued.refresh_from_db()
    assert issued.official_id == series["officials"]["a"].pk


def test_the_merge_page_says_so_before_anything_is_chosen(series, issued, staff_client):
    b = series["officials"]["b"]
    url = reverse("official_merge") + f"?survivor={b.pk}&other={issued.official_id}"
    assert '<button type="submit" class="primary">Merge</button>' in staff_client.get(url).content.decode()
    Certificate.objects.create(
        series=series["project"], official=b, code="TEST-ONLY-CODE", holder_name="KEO Dara", course_title="x"
    )
    page = staff_client.get(url).content.decode()
    assert "cannot be merged: both have a certificate of the series" in page
    assert '<button type="submit" class="primary">Merge</button>' not in page


def test_the_officials_page_lists_the_series_certificate(series, issued, officer_client):
    page = officer_client.get(reverse("official_detail", args=[issued.official_id])).content.decode()
    assert "Series certificates" in page and issued.code in page
