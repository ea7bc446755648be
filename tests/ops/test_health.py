"""/healthz and /readyz: for compose health checks and load balancers, on any host, over HTTP."""

from django.test import Client, override_settings

from pcp_portal.celery import app


def test_healthz_answers_while_the_process_serves(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_database_and_broker_reachable(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_answers_503_naming_the_broker_when_it_is_unreachable(client, db):
    original = app.conf.broker_url, app.conf.broker_write_url
    app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url, app.conf.broker_write_url = original
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "down"}


@override_settings(ALLOWED_HOSTS=["pcp.example.org"], SECURE_SSL_REDIRECT=True)
def test_health_checks_answer_the_container_s_internal_address_over_plain_http(db):
    client = Client(HTTP_HOST="172.18.0.5:8000")
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 400  # everything else still checks the host
