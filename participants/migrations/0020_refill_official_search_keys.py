"""Refill the officials' search columns where they are wrong.

Officials created or changed by an import were written with bulk_create / bulk_update, which do
not call save(), so their search columns stayed empty (or kept the keys of the old values) and
the officials' search could not find them. The services now write the keys on every bulk path;
this fixes the rows written before. Only rows whose keys differ are written, so the change feed
gets an event for those officials alone.
"""

from django.db import migrations

from pcp_portal.text import name_key, phone_key

BATCH = 1000


def keys(official) -> tuple[str, str]:
    # The same keys as participants.models.official_search_keys, written here so that the
    # migration does not change when the model's code does.
    family, given = official.family_name or "", official.given_name or ""
    names = (name_key(f"{family}{given}"), name_key(f"{given}{family}"), name_key(official.name_km))
    contact = (phone_key(official.phone), (official.email or "").strip().lower())
    return " ".join(dict.fromkeys(key for key in names if key)), " ".join(part for part in contact if part)


def refill(apps, schema_editor):
    Official = apps.get_model("participants", "Official")
    wrong = []
    for official in Official.objects.only(
        "family_name", "given_name", "name_km", "phone", "email", "search_names", "search_contact"
    ).iterator(chunk_size=BATCH):
        names, contact = keys(official)
        if (official.search_names, official.search_contact) != (names, contact):
            official.search_names, official.search_contact = names, contact
            wrong.append(official)
        if len(wrong) >= BATCH:
            Official.objects.bulk_update(wrong, ["search_names", "search_contact"])
            wrong = []
    if wrong:
        Official.objects.bulk_update(wrong, ["search_names", "search_contact"])


class Migration(migrations.Migration):
    dependencies = [("participants", "0019_importbatch_language")]

    operations = [migrations.RunPython(refill, migrations.RunPython.noop, elidable=True)]
