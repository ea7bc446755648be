"""`Idempotency-Key`: a write resent after a lost reply happens once and gets the first answer again."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.views import APIView

from courses.models import Session
from participants.models import Attendance
from pcp_portal import idempotency
from pcp_portal.api import IdempotentWritesMixin
from pcp_portal.models import APIAccessKey, IdempotencyKey
from tests.api.conftest import API, key_client, make_key


def _session_body(world, title="Quality circles"):
    return {
        "course": world["courses"][0].pk,
        "title": title,
        "starts_at": "2020-03-02T09:00:00+07:00",
        "ends_at": "2020-03-02T12:00:00+07:00",
        "venue": "MISTI, Phnom Penh",
    }


def _post_session(client, body, key):
    return client.post(f"{API}sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_session_posted_twice_with_one_key_is_created_once_and_answered_the_same(staff_api, world):
    key = str(uuid.uuid4())
    before = Session.objects.count()

    first = _post_session(staff_api, _session_body(world), key)
    second = _post_session(staff_api, _session_body(world), key)

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Session.objects.count() == before + 1
    assert Session.objects.filter(title="Quality circles").count() == 1


def test_without_a_key_a_duplicate_post_creates_two_sessions_as_asked(staff_api, world):
    staff_api.post(f"{API}sessions/", _session_body(world), format="json")
    staff_api.post(f"{API}sessions/", _session_body(world), format="json")

    assert Session.objects.filter(title="Quality circles").count() == 2


def test_the_same_key_with_another_body_is_refused_with_422_and_writes_nothing(staff_api, world):
    key = str(uuid.uuid4())
    _post_session(staff_api, _session_body(world), key)

    response = _post_session(staff_api, _session_body(world, title="Something else"), key)

    assert response.status_code == 422
    assert "already used for a different request" in response.json()["detail"]
    assert not Session.objects.filter(title="Something else").exists()


def test_the_same_key_on_another_path_or_method_is_refused_with_422(staff_api, world):
    key = str(uuid.uuid4())
    _post_session(staff_api, _session_body(world), key)
    enrolment = {"official": world["outsider"].pk, "course": world["courses"][0].pk}

    other_path = staff_api.post(f"{API}enrollments/", enrolment, format="json", HTTP_IDEMPOTENCY_KEY=key)
    session = world["sessions"][0]
    other_method = staff_api.patch(
        f"{API}sessions/{session.pk}/", {"title": "Renamed"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert other_path.status_code == other_method.status_code == 422
    assert not world["outsider"].enrollments.filter(course=world["courses"][0]).exists()
    assert Session.objects.get(pk=session.pk).title == "Opening"


def test_a_key_still_in_flight_gets_409_with_retry_after(staff_api, world):
    api_key_secret = make_key("mih_staff")
    api_key = APIAccessKey.objects.get(prefix=api_key_secret.split(".")[0])
    key = str(uuid.uuid4())
    body = _session_body(world)
    # The first request has claimed the key and is still running.
    running = RequestFactory().post(f"{API}sessions/", body, content_type="application/json")
    claim = idempotency.claim(running, caller=f"key:{api_key.prefix}", key=key)
    assert isinstance(claim, IdempotencyKey) and claim.status_code is None

    response = _post_session(key_client(api_key_secret), body, key)

    assert response.status_code == 409
    assert "still being processed" in response.json()["detail"]
    assert response["Retry-After"] == "1"
    assert not Session.objects.filter(title="Quality circles").exists()


def test_a_claim_left_by_a_request_that_died_is_taken_over_after_the_timeout(staff_api, world):
    key = str(uuid.uuid4())
    _post_session(staff_api, _session_body(world), key)
    # As if the process had died mid-write: the answer (stored with the write) never came.
    Session.objects.filter(title="Quality circles").delete()
    IdempotencyKey.objects.filter(key=key).update(
        status_code=None, created_at=timezone.now() - datetime.timedelta(minutes=3)
    )

    response = _post_session(staff_api, _session_body(world), key)

    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Session.objects.filter(title="Quality circles").count() == 1


def test_keys_belong_to_their_caller(world):
    key = str(uuid.uuid4())
    one, other = key_client(make_key("mih_staff")), key_client(make_key("mih_staff"))

    assert _post_session(one, _session_body(world), key).status_code == 201
    assert _post_session(other, _session_body(world), key).status_code == 201

    assert Session.objects.filter(title="Quality circles").count() == 2


def test_a_key_expires_after_24_hours_and_expired_keys_are_pruned(staff_api, world):
    key = str(uuid.uuid4())
    _post_session(staff_api, _session_body(world), key)
    IdempotencyKey.objects.filter(key=key).update(created_at=timezone.now() - datetime.timedelta(hours=25))

    again = _post_session(staff_api, _session_body(world), key)

    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Session.objects.filter(title="Quality circles").count() == 2
    fresh = IdempotencyKey.objects.create(
        caller="user:1", key="fresh", method="POST", path="/", fingerprint="x"
    )
    old = IdempotencyKey.objects.create(
        caller="user:1",
        key="old",
        method="POST",
        path="/",
        fingerprint="x",
        created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1),
    )
    assert idempotency.prune_expired_idempotency_keys() == 1
    assert IdempotencyKey.objects.filter(pk=fresh.pk).exists()
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_a_refused_write_is_replayed_as_refused(staff_api, world):
    key = str(uuid.uuid4())
    body = {**_session_body(world), "ends_at": "2020-03-02T08:00:00+07:00"}

    first = _post_session(staff_api, body, key)
    second = _post_session(staff_api, body, key)

    assert first.status_code == second.status_code == 400
    assert first.json() == second.json() == {"ends_at": ["A session must end after it starts."]}
    assert second["Idempotent-Replayed"] == "true"


def test_a_request_that_fails_with_a_server_error_releases_its_key(staff_api, world, monkeypatch):
    from courses import services

    key = str(uuid.uuid4())
    real_create = services.session_create

    def broken(**fields):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "session_create", broken)
    staff_api.raise_request_exception = False
    assert _post_session(staff_api, _session_body(world), key).status_code == 500
    assert not IdempotencyKey.objects.filter(key=key).exists()

    monkeypatch.setattr(services, "session_create", real_create)
    assert _post_session(staff_api, _session_body(world), key).status_code == 201
    assert Session.objects.filter(title="Quality circles").count() == 1


@pytest.mark.parametrize("bad", ["", " ", "x" * 256, "clé-ünïcode"])
def test_a_malformed_key_is_refused_with_400_naming_the_header(staff_api, world, bad):
    response = _post_session(staff_api, _session_body(world), bad)

    assert response.status_code == 400
    assert "printable ASCII" in response.json()["Idempotency-Key"][0]
    assert not Session.objects.filter(title="Quality circles").exists()


def test_a_register_put_resent_with_its_key_is_answered_the_same_and_changes_once(staff_api, world):
    session = world["sessions"][0]
    url = f"{API}sessions/{session.pk}/register/"
    body = {"attendance": [{"official": world["officials"][1].pk, "status": "present", "version": 1}]}
    key = str(uuid.uuid4())

    first = staff_api.put(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    second = staff_api.put(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["changed"] == 1
    assert Attendance.objects.get(pk=world["attendance"][1].pk).version == 2


def test_reads_ignore_the_header(partner_api, world):
    response = partner_api.get(f"{API}sessions/", HTTP_IDEMPOTENCY_KEY="whatever")

    assert response.status_code == 200
    assert not IdempotencyKey.objects.exists()


def _api_views(resolver=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)
            if view is not None and issubclass(view, APIView):
                yield pattern, view


def test_every_api_view_that_writes_honours_the_key():
    writers = []
    for pattern, view in _api_views():
        actions = getattr(pattern.callback, "actions", None) or {}
        methods = set(actions) if actions else {m for m in view.http_method_names if hasattr(view, m)}
        if methods & {"post", "put", "patch", "delete"}:
            writers.append(view)
            assert issubclass(view, IdempotentWritesMixin), f"{view.__name__} writes without Idempotency-Key"
    assert {view.__name__ for view in writers} >= {
        "SessionViewSet",
        "EnrollmentViewSet",
        "SessionRegisterView",
    }
