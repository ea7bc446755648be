"""The codes on the check-in screen and the pass of the page they open, both signed.

A code names its session and the time it first showed, signed with the site's key: nothing is
stored, and a code cannot be made up, moved to another session or kept for later. The time is
rounded down to PCP_CHECK_IN_ROTATE_SECONDS, so every poll of the screen within that window gets
the same code, and a code is valid PCP_CHECK_IN_VALID_SECONDS from when it first showed: one
scanned at the moment the screen changes still works. The signature is cut to 16 characters
(96 bits) to keep the address short enough to type; a code lives a minute and the page counts
attempts per address, so that is ample.

Scanning a valid code gives a pass (signed too, for PCP_CHECK_IN_PASS_SECONDS): the time it
takes to type a name and choose it, without the code expiring under one's fingers.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_str
from django.utils.translation import gettext as _

SIGNATURE_LENGTH = 16


class CodeRefused(Exception):
    """A code or pass that cannot be used; `message` says why, as far as it is safe to say."""

    def __init__(self, message: str, code: str) -> None:
        self.message = message
        self.code = code
        super().__init__(message)


class _CheckInSigner(signing.TimestampSigner):
    def __init__(self, salt: str, *, rotate: int | None = None) -> None:
        super().__init__(salt=salt, sep=".")
        self.rotate = rotate

    def signature(self, value, key=None):
        return super().signature(value, key)[:SIGNATURE_LENGTH]

    def timestamp(self):
        now = int(time.time())
        if self.rotate:
            now -= now % self.rotate
        return signing.b62_encode(now)


def _code_signer() -> _CheckInSigner:
    return _CheckInSigner("participants.checkin.code", rotate=settings.PCP_CHECK_IN_ROTATE_SECONDS)


def _pass_signer() -> _CheckInSigner:
    return _CheckInSigner("participants.checkin.pass")


def make_code(session_id: int) -> str:
    """The code shown now for this session ("42.1tAbCd.<signature>")."""
    return _code_signer().sign(str(session_id))


def code_expires_in(code: str) -> int:
    """Seconds until a code made now stops being accepted."""
    _value, stamp, _signature = code.rsplit(".", 2)
    return max(0, signing.b62_decode(stamp) + settings.PCP_CHECK_IN_VALID_SECONDS - int(time.time()))


def _read(signer: _CheckInSigner, token: str, session_id: int, max_age: int, *, expired: str) -> None:
    try:
        value = signer.unsign(force_str(token), max_age=max_age)
    except signing.SignatureExpired:
        raise CodeRefused(expired, "expired") from None
    except signing.BadSignature:
        # Whatever part was changed, the same words: a forger learns nothing from the answer.
        raise CodeRefused(
            _("This code is not valid. Scan the code on the screen in the training room again."), "invalid"
        ) from None
    if value != str(session_id):
        raise CodeRefused(
            _("This code is for another session. Scan the code on the screen of your session."),
            "other_session",
        )


def read_code(code: str, session_id: int) -> None:
    """Accept a scanned code for `session_id`, or raise CodeRefused."""
    _read(
        _code_signer(),
        code,
        session_id,
        settings.PCP_CHECK_IN_VALID_SECONDS,
        expired=_("This code has expired. Scan the code on the screen again: it changes every 30 seconds."),
    )


def make_pass(session_id: int) -> str:
    return _pass_signer().sign(str(session_id))


def read_pass(token: str, session_id: int) -> None:
    _read(
        _pass_signer(),
        token,
        session_id,
        settings.PCP_CHECK_IN_PASS_SECONDS,
        expired=_("This page was open too long. Scan the code on the screen again."),
    )
