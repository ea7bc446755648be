"""The pages of self check-in: the staff's screen and poll, the public page a phone opens, and
the register's panel (undo, walk-ins)."""

import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from participants.checkin import tokens
from participants.models import Attendance, Enrollment, SelfCheckIn, WalkIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone():
    return Client(enforce_csrf_checks=False, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def open_page(phone, session):
    """Scan: the code's address, then the page it sends on to (with its pass)."""
    response = phone.get(reverse("check_in_code", args=[session.pk, tokens.make_code(session.pk)]))
    assert response.status_code == 302
    return response["Location"]


def search(phone, page, text):
    return phone.get(f"{page}&{urlencode({'q': text})}")


def test_the_screen_shows_a_qr_code_of_the_check_in_address_and_the_count(staff_client, session, dara):
    response = staff_client.get(reverse("check_in_screen", args=[session.pk]))
    html = response.content.decode()
    url = re.search(r'data-check-in-url="([^"]+)"', html).group(1)
    assert url.startswith(f"http://testserver/c/{session.pk}/{session.pk}.")
    assert "<svg" in html and 'class="segno"' in html
    assert url.split("://")[1] in html  # the short address written under the code
    assert re.search(r'id="check-in-count">0<', html)


def test_the_screen_is_for_editors_only(client, officer, session):
    client.force_login(officer)
    assert client.get(reverse("check_in_screen", args=[session.pk])).status_code == 403
    assert client.get(reverse("check_in_code_json", args=[session.pk])).status_code == 403


def test_the_screen_poll_gives_the_same_code_within_a_window_and_the_arrivals(staff_client, session, dara):
    first = staff_client.get(reverse("check_in_code_json", args=[session.pk])).json()
    Client().get(first["url"])  # a phone scans
    second = staff_client.get(reverse("check_in_code_json", args=[session.pk])).json()
    assert first["url"] == second["url"] or second["expires_in"] > 30
    assert 0 < second["expires_in"] <= 60


def test_an_official_scans_finds_themselves_in_khmer_and_checks_in(phone, session, dara, sreymom):
    page = open_page(phone, session)
    response = search(phone, page, "ស្រីមុំ")
    html = response.content.decode()
    assert "ចាន់ ស្រីមុំ" in html
    assert "SOK Dara" not in html
    assert "97 111 2222" not in html and "@" not in html.split("<main", 1)[1]  # no phone, no e-mail
    response = phone.post(page, {"action": "check_in", "enrollment": sreymom.pk})
    assert response.status_code == 200
    assert "You are checked in as present" in response.content.decode()
    attendance = Attendance.objects.get(enrollment=sreymom, session=session)
    assert (attendance.status, attendance.recorded_by) == ("present", None)


def test_the_page_is_in_khmer_when_the_browser_asks_for_it(session, dara):
    phone = Client(HTTP_ACCEPT_LANGUAGE="km,en;q=0.5")
    response = phone.get(open_page(phone, session))
    html = response.content.decode()
    assert '<html lang="km">' in html
    assert 'id="language-select"' in html  # and a switch to change it


def test_a_second_check_in_is_answered_with_the_time_of_the_first(phone, session, dara):
    page = open_page(phone, session)
    phone.post(page, {"action": "check_in", "enrollment": dara.pk})
    response = phone.post(page, {"action": "check_in", "enrollment": dara.pk})
    assert response.status_code == 400
    check_in = SelfCheckIn.objects.get()
    when = timezone.localtime(check_in.checked_in_at).strftime("%H:%M")
    assert f"SOK Dara is already checked in at {when}." in response.content.decode()


def test_an_expired_code_is_refused_and_nothing_is_written(phone, session, dara, settings, at):
    settings.PCP_CHECK_IN_VALID_SECONDS = 60
    code = tokens.make_code(session.pk)
    at(61)
    response = phone.get(reverse("check_in_code", args=[session.pk, code]))
    assert response.status_code == 400
    assert "This code has expired" in response.content.decode()


def test_a_tampered_code_and_a_code_of_another_session_are_refused(phone, session, dara):
    code = tokens.make_code(session.pk)
    tampered = phone.get(reverse("check_in_code", args=[session.pk, code[:-2] + "xx"]))
    assert tampered.status_code == 400
    assert "This code is not valid" in tampered.content.decode()
    other = phone.get(reverse("check_in_code", args=[session.pk, tokens.make_code(session.pk + 1)]))
    assert "for another session" in other.content.decode()
    forged_pass = phone.get(reverse("check_in_page", args=[session.pk]), {"pass": "x", "q": "dara"})
    assert forged_pass.status_code == 400
    assert "SOK Dara" not in forged_pass.content.decode()


def test_a_short_search_is_refused_with_the_reason(phone, session, dara):
    response = search(phone, open_page(phone, session), "so")
    assert response.status_code == 400
    assert "Type at least 3 letters" in response.content.decode()


def test_too_many_attempts_from_one_address_are_refused(phone, session, dara, settings):
    from django.core.cache import cache

    cache.clear()
    settings.PCP_CHECK_IN_PER_MINUTE = 3
    page = open_page(phone, session)  # 1
    search(phone, page, "dara")  # 2
    search(phone, page, "dara")  # 3
    response = phone.post(page, {"action": "check_in", "enrollment": dara.pk})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert response["Retry-After"]
    assert not Attendance.objects.exists()


def test_a_cancelled_session_and_a_withdrawn_official_are_refused(phone, session, dara, withdrawn, staff):
    page = open_page(phone, session)
    response = phone.post(page, {"action": "check_in", "enrollment": withdrawn.pk})
    assert "has withdrawn from this course" in response.content.decode()
    from courses.services import session_cancel

    session_cancel(session=session, reason="flood", changed_by=staff)
    response = phone.post(page, {"action": "check_in", "enrollment": dara.pk})
    assert response.status_code == 400
    assert "cancelled" in response.content.decode()
    assert not Attendance.objects.exists()


def test_a_walk_in_leaves_a_name_for_staff_who_confirm_it_from_the_register(
    phone, session, ministry, staff_client
):
    page = open_page(phone, session)
    response = phone.post(
        page, {"action": "walk_in", "name": "Ouk Sreypov", "ministry": ministry.pk, "phone": "០៩៧ ២២២ ៣៣៣៣"}
    )
    assert "Your name is on the list for the staff" in response.content.decode()
    walk_in = WalkIn.objects.get()
    register = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "Ouk Sreypov" in register
    staff_client.post(reverse("walk_in_decide", args=[walk_in.pk, "confirm"]))
    enrollment = Enrollment.objects.get(official__family_name="Ouk")
    assert Attendance.objects.get(enrollment=enrollment).status == "present"


def test_a_walk_in_without_a_phone_is_asked_again(phone, session, ministry):
    response = phone.post(
        open_page(phone, session), {"action": "walk_in", "name": "Ouk", "ministry": ministry.pk}
    )
    assert response.status_code == 400
    assert not WalkIn.objects.exists()


def test_the_register_poll_shows_a_self_check_in_and_staff_undo_it(phone, session, dara, staff_client):
    page = open_page(phone, session)
    phone.post(page, {"action": "check_in", "enrollment": dara.pk})
    live = staff_client.get(reverse("register_live", args=[session.pk])).json()
    assert live["rows"][str(dara.pk)]["status"] == "present"
    assert live["rows"][str(dara.pk)]["recorded_by"] == "self check-in"
    assert "SOK Dara" in live["panel"]
    check_in = SelfCheckIn.objects.get()
    response = staff_client.post(reverse("check_in_undo", args=[check_in.pk]))
    assert response.status_code == 302
    assert not Attendance.objects.exists()
    assert staff_client.get(reverse("register_live", args=[session.pk])).json()["rows"] == {}


def test_the_register_poll_reads_in_a_fixed_number_of_queries(
    staff_client, session, dara, sreymom, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        staff_client.get(reverse("register_live", args=[session.pk]))
