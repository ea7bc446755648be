"""The migration that refills the officials' search columns written empty by bulk imports."""

import importlib

import pytest
from django.apps import apps

from participants.models import Official, official_search_keys
from tests.factories import OfficialFactory

refill = importlib.import_module("participants.migrations.0020_refill_official_search_keys")

pytestmark = pytest.mark.django_db


def test_the_refill_writes_the_keys_save_would_and_leaves_right_rows_alone():
    broken = OfficialFactory(
        family_name="Chan", given_name="Dara", phone="+855 12 345 678", email="Dara@Example.org"
    )
    right = OfficialFactory(family_name="Sok", given_name="Lina")
    Official.objects.filter(pk=broken.pk).update(search_names="", search_contact="")
    right_before = Official.objects.get(pk=right.pk).updated_at

    refill.refill(apps, None)

    broken.refresh_from_db()
    assert (broken.search_names, broken.search_contact) == official_search_keys(broken)
    assert "dara@example.org" in broken.search_contact
    assert Official.objects.get(pk=right.pk).updated_at == right_before
    # The migration's copy of the keys is the model's.
    assert refill.keys(broken) == official_search_keys(broken)
