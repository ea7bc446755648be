"""Every model of the portal is in the admin, with search and a list that opens."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

PORTAL_APPS = ("courses", "participants", "surveys", "ministries")


def _portal_models():
    return [
        model
        for name in PORTAL_APPS
        for model in apps.get_app_config(name).get_models()
        if not model.__name__.startswith("Historical")
    ]


def test_every_portal_model_is_registered_with_search():
    for model in _portal_models():
        assert admin.site.is_registered(model), model
        assert admin.site._registry[model].search_fields, model


def test_admin_changelists_open_with_data(superuser_client, public_record):
    from participants.demo import load_demo_data

    load_demo_data()
    for model in _portal_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = superuser_client.get(url, {"q": "Ministry"})
        assert response.status_code == 200, url
