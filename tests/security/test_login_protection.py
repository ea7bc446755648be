"""Log-in protection: lock-out on the pair (username, address), the same answer for unknown and
known usernames, sessions that end, and the optional TOTP second factor."""

import datetime
import time
from unittest import mock

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.hashers import get_hasher
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from pcp_portal.middleware import AUTH_AT, SEEN_AT

PASSWORD = "correct horse battery"
LOGIN = "/accounts/login/"


def attempt(username, password, *, ip="203.0.113.7", token=""):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(LOGIN, {"username": username, "password": password, "otp_token": token})
    return client, response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=datetime.timedelta(minutes=15))
def test_repeated_failures_lock_the_username_and_address_pair_then_it_unlocks_after_the_cool_off(staff):
    for _ in range(3):
        _client, response = attempt(staff.username, "wrong password")
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()

    client, response = attempt(staff.username, PASSWORD)
    assert response.status_code == 429 and not logged_in(client)

    # The cool-off passes: the failures are now older than AXES_COOLOFF_TIME.
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    client, response = attempt(staff.username, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_lock_out_spares_the_same_user_elsewhere_and_colleagues_behind_the_same_address(staff, officer):
    for _ in range(3):
        attempt(staff.username, "wrong password", ip="203.0.113.7")

    colleague, response = attempt(officer.username, PASSWORD, ip="203.0.113.7")
    assert response.status_code == 302 and logged_in(colleague)
    elsewhere, response = attempt(staff.username, PASSWORD, ip="198.51.100.9")
    assert response.status_code == 302 and logged_in(elsewhere)


def test_failed_and_successful_log_ins_are_recorded(staff):
    attempt(staff.username, "wrong password")
    attempt(staff.username, PASSWORD)
    failure = AccessFailureLog.objects.get()
    assert (failure.username, failure.ip_address) == (staff.username, "203.0.113.7")
    assert AccessLog.objects.filter(username=staff.username, ip_address="203.0.113.7").count() == 1


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
def test_an_unknown_and_a_known_username_get_the_same_answer_and_the_same_work(staff):
    """Same answer, and the same costly step for both: the password hasher runs for an unknown
    username too (Django's ModelBackend hashes a dummy password), so timing tells nothing. Counting
    the hasher's runs states that without a timed test, which a loaded machine would make flaky."""
    staff.set_password(PASSWORD)
    staff.save()
    hasher = get_hasher("default")
    encode = type(hasher).encode

    def answer(username):
        with mock.patch.object(type(hasher), "encode", autospec=True, side_effect=encode) as spy:
            _client, response = attempt(username, "wrong password")
        return response, spy.call_count

    known, known_hashes = answer(staff.username)
    unknown, unknown_hashes = answer("nobody.at.all")
    assert known.status_code == unknown.status_code == 200
    strip = lambda r, name: r.content.decode().replace(name, "")  # noqa: E731
    assert strip(known, staff.username).count("errorlist") == strip(unknown, "nobody.at.all").count(
        "errorlist"
    )
    assert "Please enter a correct" in known.content.decode()
    assert "Please enter a correct" in unknown.content.decode()
    assert known_hashes == unknown_hashes >= 1


def test_log_out_deletes_the_session_on_the_server(staff):
    client, _response = attempt(staff.username, PASSWORD)
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()


def test_deactivating_an_account_ends_all_its_sessions(staff, officer):
    first, _r = attempt(staff.username, PASSWORD)
    second, _r = attempt(staff.username, PASSWORD, ip="198.51.100.9")
    other, _r = attempt(officer.username, PASSWORD)
    staff.is_active = False
    staff.save()
    assert not Session.objects.filter(session_key__in=[first.session.session_key, second.session.session_key])
    assert Session.objects.filter(session_key=other.session.session_key).exists()
    assert first.get("/dashboard/").status_code == 302


def _age_session(client, **seconds_ago):
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


@override_settings(SESSION_IDLE_TIMEOUT=600, SESSION_ABSOLUTE_TIMEOUT=3600)
def test_a_session_ends_after_inactivity(staff):
    client, _r = attempt(staff.username, PASSWORD)
    assert client.get("/dashboard/").status_code == 200
    key = client.session.session_key
    _age_session(client, **{SEEN_AT: 601})
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not Session.objects.filter(session_key=key).exists()


@override_settings(SESSION_IDLE_TIMEOUT=600, SESSION_ABSOLUTE_TIMEOUT=3600)
def test_a_busy_session_still_ends_after_the_absolute_lifetime(staff):
    client, _r = attempt(staff.username, PASSWORD)
    _age_session(client, **{AUTH_AT: 3500, SEEN_AT: 5})
    assert client.get("/dashboard/").status_code == 200
    _age_session(client, **{AUTH_AT: 3601, SEEN_AT: 5})
    assert client.get("/dashboard/").status_code == 302


@pytest.fixture
def totp_device(staff):
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def test_an_account_with_a_second_factor_needs_the_current_code(staff, totp_device):
    client, response = attempt(staff.username, PASSWORD)
    assert response.status_code == 200 and not logged_in(client)
    assert "Please enter a correct" in response.content.decode()

    client, response = attempt(
        staff.username, PASSWORD, token=f"{(totp(totp_device.bin_key) + 1) % 1_000_000:06d}"
    )
    assert not logged_in(client)
    assert AccessFailureLog.objects.filter(username=staff.username).count() == 2
    # django-otp's own throttle makes a device wait 2^n seconds after n wrong codes; skip the wait.
    TOTPDevice.objects.filter(pk=totp_device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )

    client, response = attempt(staff.username, PASSWORD, token=f"{totp(totp_device.bin_key):06d}")
    assert response.status_code == 302 and logged_in(client)
    assert client.get("/dashboard/").wsgi_request.user.is_verified()


def test_staff_turn_the_second_factor_on_with_a_confirming_code_and_a_wrong_code_changes_nothing(staff):
    client, _r = attempt(staff.username, PASSWORD)
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200 and "Key" in page.content.decode()
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed

    refused = client.post("/accounts/two-factor/", {"token": "12ab"})
    assert "Enter the 6-digit code" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    code = f"{totp(device.bin_key):06d}"
    response = client.post("/accounts/two-factor/", {"token": code})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
