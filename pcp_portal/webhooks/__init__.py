"""Webhooks: partners' systems are told of changes instead of polling for them.

* ``addresses``: which URLs may be called (https, public addresses; checked at save and again
  after DNS at send time, connecting to the very address that was checked).
* ``dispatch``: change rows (pcp_portal.outbox triggers) → deliveries, per subscription cursor.
* ``sender``: signed POSTs with time-outs, a response cap, back-off and pausing.
* ``api``: the partner's subscriptions, delivery log and replays under /api/v1/webhooks/.
* ``tasks``: the Celery adapters (queue ``webhooks``).
"""
