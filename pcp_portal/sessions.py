"""The database session store, with a plain error when the database is down.

Django's store loads the session inside `except AttributeError` (the cache attribute not set
yet), so a dead database logged "'SessionStore' object has no attribute '_session_cache'" ahead
of the real error on every request. Here the real error stands alone; pcp_portal.degrade turns
it into a 503.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import DatabaseError, InterfaceError


class SessionStore(db.SessionStore):
    def load(self):
        try:
            return super().load()
        except (DatabaseError, InterfaceError) as error:
            # The driver's error (Django's __cause__) was raised while the AttributeError was being
            # handled: hide that context, keep the cause (pcp_portal.degrade reads its code).
            for part in (error, error.__cause__):
                if part is not None:
                    part.__suppress_context__ = True
            raise
