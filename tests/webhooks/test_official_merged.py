"""A merge of two officials tells subscribers: official.merged (and deleted) for the record that
went, official.updated for the one that stays, as the partner's key sees it (no contact data)."""

from participants.merging import official_merge
from tests.factories import OfficialFactory
from tests.webhooks.test_delivery import run


def test_webhooks_say_the_official_was_merged_and_the_survivor_updated(receiver, subscription, staff):
    chan, chan_again = OfficialFactory(family_name="Chan"), OfficialFactory(family_name="Chan")
    run(subscription)
    already = len(receiver.accepted())
    official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    run(subscription)
    events = [
        (e["event"], e["object_id"], e["data"])
        for e in receiver.accepted()[already:]
        if e["resource"] == "officials"
    ]
    assert ("official.merged", chan_again.pk, {"id": chan_again.pk, "merged_into": chan.pk}) in events
    assert ("official.deleted", chan_again.pk, None) in events
    updated = [data for name, pk, data in events if name == "official.updated" and pk == chan.pk]
    assert updated and "email" not in updated[0]  # the partner's representation, no contact data
