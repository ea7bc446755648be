"""Signals courses sends so the layers above it can act on a change without courses knowing them."""

from __future__ import annotations

import django.dispatch

# Sent by courses.services.session_update and session_cancel inside their transaction, after the
# session is saved, with `session` (as saved) and `previous` (its schedule fields and status
# before the change, or None for a session not saved before). Receivers that queue work must do
# it through the outbox, so a rolled-back change queues nothing.
session_changed = django.dispatch.Signal()
