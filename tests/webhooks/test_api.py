"""The partner's webhook API: subscribe (the secret shown once), the URL rules, the delivery log, replays."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from courses.services import session_create
from pcp_portal.models import APIAccessKey, WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks import addresses, sender
from tests.factories import CourseFactory, OfficialFactory
from tests.webhooks.conftest import dispatch_now

API = "/api/v1/webhooks/"


def client_for(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw_key}")
    return client


@pytest.fixture
def partner_api(partner_key):
    return client_for(partner_key)


@pytest.fixture
def other_key(db):
    api_key, key = APIAccessKey.objects.create_key(name="UNIDO system", role="unido_officer")
    api_key.raw_key = key
    return api_key


def test_a_partner_subscribes_and_sees_the_secret_once(partner_api, receiver):
    created = partner_api.post(
        f"{API}subscriptions/", {"url": receiver.url, "events": ["session.cancelled"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (
        len(body["secret"]) == 64 and body["status"] == "active" and body["events"] == ["session.cancelled"]
    )
    listed = partner_api.get(f"{API}subscriptions/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in partner_api.get(f"{API}subscriptions/{body['id']}/").json()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://user:pass@1.1.1.1/hook", "user name or password"),
        ("https://token@1.1.1.1/hook", "user name or password"),
        ("ftp://1.1.1.1/hook", "https URL"),
        ("javascript:alert(1)", "https URL"),
        ("http://1.1.1.1/hook", "Only https"),
        ("https://127.0.0.1/hook", "private, loopback"),
        ("https://10.1.2.3/hook", "private, loopback"),
        ("https://169.254.169.254/latest/meta-data", "private, loopback"),
        ("https://[::1]/hook", "https URL"),  # IPv6 receivers are reached by name
        ("https://0.0.0.0/hook", "private, loopback"),
        ("https://localhost/hook", "private, loopback"),
        ("https:///hook", "https URL"),
    ],
)
def test_unsafe_urls_are_refused_in_production(partner_api, settings, url, fragment):
    settings.PCP_WEBHOOK_ALLOW_HTTP = False
    settings.PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = partner_api.post(f"{API}subscriptions/", {"url": url}, format="json")
    assert response.status_code == 400
    assert fragment in str(response.json()), response.json()
    assert not WebhookSubscription.objects.exists()


def test_a_name_that_resolves_to_a_private_address_at_send_time_is_not_called(
    partner_key, receiver, settings, monkeypatch
):
    from pcp_portal.webhooks import services

    sub = services.subscription_create(api_key=partner_key, url="https://1.1.1.1/hook")
    sub.url = receiver.url.replace("127.0.0.1", "hooks.partner.example")
    sub.save()
    real = addresses.socket.getaddrinfo
    monkeypatch.setattr(
        addresses.socket,
        "getaddrinfo",
        lambda host, *a, **k: (
            real("127.0.0.1", *a, **k) if host == "hooks.partner.example" else real(host, *a, **k)
        ),
    )
    settings.PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False  # production: rebinding to loopback is caught
    session_create(course=CourseFactory(), title="S")
    dispatch_now()
    sender.send_due(sub.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and "private, loopback" in delivery.error
    assert receiver.requests == []
    settings.PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # tests: the same name now reaches the receiver
    WebhookDelivery.objects.update(next_attempt_at=delivery.created_at)
    sender.send_due(sub.pk)
    assert WebhookDelivery.objects.get().status == "delivered"
    assert (
        receiver.requests[0]["headers"]["host"]
        == f"hooks.partner.example:{receiver.server.server_address[1]}"
    )


def test_the_delivery_log_shows_only_the_keys_own_deliveries_and_replays_them(
    partner_key, other_key, partner_api, receiver
):
    from pcp_portal.webhooks import services

    mine = services.subscription_create(api_key=partner_key, url=receiver.url)
    theirs = services.subscription_create(api_key=other_key, url=receiver.url)
    OfficialFactory(email="dara@example.gov.kh", phone="+85512000111")
    dispatch_now()
    sender.send_due(mine.pk)
    sender.send_due(theirs.pk)
    log = partner_api.get(f"{API}deliveries/").json()["results"]
    assert [row["subscription"] for row in log] == [mine.pk]
    assert log[0]["status"] == "delivered" and log[0]["status_code"] == 200
    assert log[0]["payload"]["event"] == "official.updated"
    assert "email" not in log[0]["payload"]["data"] and "phone" not in log[0]["payload"]["data"]
    officer_view = client_for(other_key).get(f"{API}deliveries/").json()["results"]
    assert officer_view[0]["payload"]["data"]["email"] == "dara@example.gov.kh"  # its role sees contacts

    assert partner_api.get(f"{API}deliveries/{officer_view[0]['id']}/").status_code == 404
    replayed = partner_api.post(f"{API}deliveries/{log[0]['id']}/replay/")
    assert replayed.status_code == 202 and replayed.json()["replay_of"] == log[0]["id"]
    sender.send_due(mine.pk)
    ids = [r["headers"]["pcp-webhook-id"] for r in receiver.requests]
    assert ids.count(log[0]["event_id"]) == 2  # the same event id: the receiver drops the repeat

    ranged = partner_api.post(
        f"{API}subscriptions/{mine.pk}/replay/",
        {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"},
        format="json",
    )
    assert ranged.status_code == 202 and ranged.json() == {"replayed": 2}


def test_pause_and_resume_lose_nothing(partner_key, partner_api, receiver):
    from pcp_portal.webhooks import services

    sub = services.subscription_create(api_key=partner_key, url=receiver.url)
    assert partner_api.post(f"{API}subscriptions/{sub.pk}/pause/").json()["status"] == "paused"
    session_create(course=CourseFactory(), title="While paused")
    dispatch_now()
    assert not WebhookDelivery.objects.exists()
    assert partner_api.post(f"{API}subscriptions/{sub.pk}/resume/").json()["status"] == "active"
    dispatch_now()
    sender.send_due(sub.pk)
    assert [e["event"] for e in receiver.events()] == ["session.created"]


def test_a_portal_log_in_reads_the_log_but_cannot_subscribe(officer_client):
    assert officer_client.get(f"{API}subscriptions/").status_code == 200
    refused = officer_client.post(
        f"{API}subscriptions/", {"url": "https://1.1.1.1/"}, content_type="application/json"
    )
    assert refused.status_code == 403


def test_staff_see_the_delivery_log_in_the_admin_and_replay_from_it(superuser_client, subscription, receiver):
    from django.conf import settings

    session_create(course=CourseFactory(), title="Opening")
    dispatch_now()
    sender.send_due(subscription.pk)
    delivery = WebhookDelivery.objects.get()
    admin = f"/{settings.ADMIN_URL}pcp_portal/"
    page = superuser_client.get(f"{admin}webhookdelivery/")
    assert page.status_code == 200 and b"session.created" in page.content
    assert superuser_client.get(f"{admin}webhookdelivery/{delivery.pk}/change/").status_code == 200
    assert superuser_client.get(f"{admin}webhooksubscription/{subscription.pk}/change/").status_code == 200
    superuser_client.post(f"{admin}webhookdelivery/", {"action": "replay", "_selected_action": [delivery.pk]})
    assert WebhookDelivery.objects.filter(replay_of=delivery, event_id=delivery.event_id).count() == 1


def test_a_repeated_subscribe_with_the_same_idempotency_key_creates_one(partner_api):
    body = {"url": "https://1.1.1.1/pcp-hooks"}
    first = partner_api.post(f"{API}subscriptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    again = partner_api.post(f"{API}subscriptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and WebhookSubscription.objects.count() == 1


@pytest.mark.parametrize("address", ["::1", "::ffff:192.168.1.1", "fe80::1%eth0", "fd00::1", "100.64.0.1"])
def test_non_public_ipv6_and_shared_addresses_are_refused_after_dns(settings, address):
    settings.PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(addresses.UnsafeURL, match="private, loopback"):
        addresses.check_address(address)
    addresses.check_address("2606:4700:4700::1111")  # a public one passes
