"""Surveys and knowledge tests: instruments built by staff, answered by officials through a
personal signed link, their links sent through the reminders' channel, and their results.

* `models` — Instrument, Question, Choice; Response (identified) and AnonymousResponse (no link
  to the official); Participation (only that an official answered); Invitation (the ledger).
* `services` — every write: building, versioning, answering (`response_submit`).
* `selectors` — every read of the results: response rates, scores, the paired gain.
* `sending` — what is due and when, the claim and the send (the reminders' rules, own ledger).
"""
