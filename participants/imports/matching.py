"""Normalising what people type, and finding the official a row means.

An official is matched by e-mail, then by phone, then by exact name and ministry. Names are
compared after NFC normalisation, trimming, removing spaces and case folding; Khmer text
also loses invisible zero-width characters (typed as word breaks) and the two vowel spellings
that look identical on screen (េ + ា for ោ, េ + ី for ើ) are read as one. A match that is not
certain (same phone but another e-mail, same name at another ministry, several people with
the same name) comes back as candidates for a person to decide, never as a match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ministries.models import Ministry, MinistryName
from participants.models import Official

INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
KHMER_FOLDS = (("\u17c1\u17b6", "\u17c4"), ("\u17c1\u17b8", "\u17be"))


def clean_text(value: str) -> str:
    """What is stored: NFC, trimmed, inner runs of spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value or "")).strip()


def name_key(value: str) -> str:
    """What is compared: clean_text, Khmer look-alikes folded, case folded, and without spaces or
    invisible characters (Khmer typists separate words with a zero-width space, a space or nothing)."""
    text = clean_text((value or "").translate(INVISIBLE))
    for spelled, single in KHMER_FOLDS:
        text = text.replace(spelled, single)
    return re.sub(r"\s+", "", text).casefold()


def email_key(value: str) -> str:
    return (value or "").strip().lower()


def phone_key(value: str) -> str:
    """Digits only, without Cambodia's +855 or the trunk 0: “+855 12 345 678” and “012345678” agree."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("00855"):
        digits = digits[5:]
    elif digits.startswith("855") and len(digits) > 9:
        digits = digits[3:]
    return digits.lstrip("0")


def official_label(official: Official, ministries: dict[int, Ministry]) -> str:
    ministry = ministries.get(official.ministry_id)
    parts = [official.full_name]
    if official.name_km and official.name_km != official.full_name:
        parts.append(official.name_km)
    if ministry is not None:
        parts.append(f"({ministry.acronym or ministry.name_en})")
    if official.email:
        parts.append(f"<{official.email}>")
    return " ".join(parts)


class MinistryIndex:
    """Ministries by acronym, English or Khmer name or code, current or former (one query each)."""

    def __init__(self) -> None:
        self.by_id = {m.pk: m for m in Ministry.objects.all()}
        self.keys: dict[str, int | None] = {}
        for ministry in self.by_id.values():
            for text in (ministry.acronym, ministry.name_en, ministry.name_km, ministry.code):
                self._add(text, ministry.pk)
        for former in MinistryName.objects.all():
            for text in (former.acronym, former.name_en, former.name_km):
                self._add(text, former.ministry_id)

    def _add(self, text: str, pk: int) -> None:
        key = name_key(text)
        if not key:
            return
        if key in self.keys and self.keys[key] != pk:
            self.keys[key] = None  # ambiguous, e.g. an acronym two bodies have used
        else:
            self.keys[key] = pk

    def find(self, text: str) -> tuple[Ministry | None, str | None]:
        key = name_key(text)
        if not key:
            return None, None
        if key not in self.keys:
            return None, _("Unknown ministry “%(ministry)s”.") % {"ministry": clean_text(text)}
        pk = self.keys[key]
        if pk is None:
            return None, _("“%(ministry)s” names more than one ministry; use its full name.") % {
                "ministry": clean_text(text)
            }
        return self.by_id[pk], None


@dataclass
class Resolution:
    official: Official | None = None
    candidates: list[tuple[Official, str]] = field(default_factory=list)
    error: str | None = None


class OfficialIndex:
    """The officials a row may mean, loaded once per import and indexed by each matching key."""

    def __init__(self, queryset=None) -> None:
        officials = list(queryset if queryset is not None else Official.objects.all())
        self.by_id = {o.pk: o for o in officials}
        self.by_email: dict[str, Official] = {}
        self.by_phone: dict[str, list[Official]] = {}
        self.by_name: dict[str, list[Official]] = {}
        for official in officials:
            self.add(official)

    def add(self, official: Official) -> None:
        if official.email:
            self.by_email[email_key(official.email)] = official
        if phone_key(official.phone):
            self.by_phone.setdefault(phone_key(official.phone), []).append(official)
        for key in self.name_keys_of(official):
            bucket = self.by_name.setdefault(key, [])
            if official not in bucket:
                bucket.append(official)

    @staticmethod
    def name_keys_of(official: Official) -> set[str]:
        keys = set()
        latin = name_key(f"{official.family_name} {official.given_name}")
        if latin:
            keys.add(latin)
            keys.add(name_key(f"{official.given_name} {official.family_name}"))
        if official.name_km:
            keys.add(name_key(official.name_km))
        return keys

    @staticmethod
    def row_name_keys(values: dict[str, str]) -> set[str]:
        keys = set()
        family, given = values.get("family_name", ""), values.get("given_name", "")
        if family or given:
            keys.add(name_key(f"{family} {given}"))
        for column in ("name_km", "name"):
            if values.get(column):
                keys.add(name_key(values[column]))
        return {key for key in keys if key}

    def resolve(
        self, values: dict[str, str], ministry: Ministry | None, ministries, *, name_alone_is_certain=False
    ) -> Resolution:
        """`name_alone_is_certain`: a sign-in sheet, matched among the course's enrolled officials only."""
        email = email_key(values.get("email", ""))
        phone = phone_key(values.get("phone", ""))
        names = self.row_name_keys(values)
        if email and email in self.by_email:
            official = self.by_email[email]
            if names and not names & self.name_keys_of(official):
                return Resolution(
                    error=_("The e-mail %(email)s is already used by another official, %(other)s.")
                    % {"email": values["email"], "other": official_label(official, ministries)}
                )
            return Resolution(official=official)
        if phone and phone in self.by_phone:
            found = self.by_phone[phone]
            if len(found) == 1 and not (email and found[0].email):
                return Resolution(official=found[0])
            reason = (
                _("Same phone number, but this official has another e-mail address.")
                if len(found) == 1
                else _("Several officials have this phone number.")
            )
            return Resolution(candidates=[(official, reason) for official in found])
        same_name = []
        for key in names:
            for official in self.by_name.get(key, []):
                if official not in same_name:
                    same_name.append(official)
        if not same_name:
            return Resolution()
        if name_alone_is_certain and ministry is None and len(same_name) == 1:
            return Resolution(official=same_name[0])
        here = [o for o in same_name if ministry is None or o.ministry_id == ministry.pk]
        if len(here) == 1 and ministry is not None:
            official = here[0]
            if email and official.email:
                return Resolution(
                    candidates=[(official, _("Same name and ministry, but another e-mail address."))]
                )
            return Resolution(official=official)
        candidates = [
            (
                official,
                _("Same name, same ministry.")
                if ministry is not None and official.ministry_id == ministry.pk
                else _("Same name, another ministry.")
                if ministry is not None
                else _("Same name."),
            )
            for official in same_name
        ]
        return Resolution(candidates=candidates)
