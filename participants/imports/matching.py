"""Normalising what people type, and finding the official a row means.

An official is identified by e-mail (case-insensitive) or by the portal's ID in an ID column;
nothing else is identity. A phone number or a name is evidence: a row whose name, ministry and
phone all agree with one official (and whose e-mail does not contradict it) is that official;
a name and ministry alone, or a phone alone, are a possible match shown to a person to decide,
and two different names with one phone (colleagues sharing an office line) are two people. Names are
compared after NFC normalisation, trimming, removing spaces and case folding; Khmer text
also loses invisible zero-width characters (typed as word breaks) and the two vowel spellings
that look identical on screen (េ + ា for ោ, េ + ី for ើ) are read as one. A match that is not
certain (same phone but another e-mail, same name at another ministry, several people with
the same name) comes back as candidates for a person to decide, never as a match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ministries.models import Ministry, MinistryName
from participants.models import Official
from pcp_portal.text import DEFAULT_REGION, clean_text, latin_digits, name_key, phone_key


def email_key(value: str) -> str:
    return (value or "").strip().lower()


def phone_canonical(value: str) -> str:
    """The one form a phone is stored in: E.164 (+85512345678) when the number gives its country
    code (+855…, 00855…) and is valid; otherwise the digits as typed, Khmer digits made Latin and
    spacing removed (a number without a country code keeps its leading 0 or its absence)."""
    import phonenumbers

    text = clean_text(latin_digits(value))
    if not text:
        return ""
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        try:
            number = phonenumbers.parse(compact, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return text
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return text
    return compact if re.fullmatch(r"\d+", compact) else text


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
            return None, _("no ministry of this name. Write its name or acronym as on the Ministries page.")
        pk = self.keys[key]
        if pk is None:
            return None, _("this names more than one ministry. Write its full name.")
        return self.by_id[pk], None


@dataclass
class Resolution:
    official: Official | None = None
    candidates: list[tuple[Official, str]] = field(default_factory=list)
    error: str | None = None
    # The columns the error is about (the planner names them, as the file does, with their values).
    error_keys: tuple[str, ...] = ()
    # Evidence that pointed elsewhere but was not enough to merge, shown beside the row.
    warnings: list[str] = field(default_factory=list)


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
        """Who the row means. Identity is the e-mail or the ID column; name, ministry and phone are
        evidence. `name_alone_is_certain`: a sign-in sheet, matched among the course's enrolled
        officials only, where one enrolled person of that name is that person."""
        email = email_key(values.get("email", ""))
        phone = phone_key(values.get("phone", ""))
        names = self.row_name_keys(values)
        given_id = latin_digits(values.get("official_id", "")).strip()
        if given_id:
            official = self.by_id.get(int(given_id)) if given_id.isdigit() else None
            if official is None:
                return Resolution(
                    error=_("no official has this ID. Correct the ID, or leave the cell empty."),
                    error_keys=("official_id",),
                )
            if email and official.email and email_key(official.email) != email:
                return Resolution(
                    error=_(
                        "this ID is %(other)s, whose e-mail is another one. Correct the ID or the e-mail."
                    )
                    % {"other": official_label(official, ministries)},
                    error_keys=("official_id", "email"),
                )
            return Resolution(official=official)
        if email and email in self.by_email:
            official = self.by_email[email]
            if names and not names & self.name_keys_of(official):
                return Resolution(
                    error=_("this e-mail is already used by another official, %(other)s. Correct the e-mail.")
                    % {"other": official_label(official, ministries)},
                    error_keys=("email",),
                )
            return Resolution(official=official)
        same_phone = list(self.by_phone.get(phone, [])) if phone else []
        same_name: list[Official] = []
        for key in names:
            for official in self.by_name.get(key, []):
                if official not in same_name:
                    same_name.append(official)
        warnings = [
            _(
                "%(other)s has the same phone number but another name: this row is a different "
                "person, not merged with them."
            )
            % {"other": official_label(official, ministries)}
            for official in same_phone
            if names and official not in same_name
        ]

        def phone_agrees(official: Official) -> bool:
            return bool(phone) and phone_key(official.phone) == phone

        def email_differs(official: Official) -> bool:
            return bool(email and official.email)  # both given, and not equal (else matched above)

        if not names:
            # A phone with no name: evidence of who it may be, never identity.
            candidates = [
                (official, _("Same phone number; the row gives no name to confirm it."))
                for official in same_phone
                if not email_differs(official)
            ]
            if name_alone_is_certain and len(candidates) == 1:
                return Resolution(official=candidates[0][0])
            return Resolution(candidates=candidates)
        if not same_name:
            return Resolution(warnings=warnings)
        if name_alone_is_certain and ministry is None:
            fitting = [
                o for o in same_name if not email_differs(o) and (not phone or not o.phone or phone_agrees(o))
            ]
            if len(fitting) == 1:
                return Resolution(official=fitting[0], warnings=warnings)
        here = [o for o in same_name if ministry is not None and o.ministry_id == ministry.pk]
        if len(here) == 1 and phone_agrees(here[0]) and not email_differs(here[0]):
            return Resolution(official=here[0], warnings=warnings)
        candidates = []
        for official in same_name:
            if ministry is not None and official.ministry_id == ministry.pk:
                if email_differs(official):
                    why = _("Same name and ministry, but another e-mail address.")
                elif phone and official.phone and not phone_agrees(official):
                    why = _("Possible duplicate: same name and ministry, but another phone number.")
                else:
                    why = _("Possible duplicate: same name and ministry, and no e-mail to tell them apart.")
            elif ministry is not None:
                why = _("Same name, another ministry.")
            else:
                why = _("Same name.")
            candidates.append((official, why))
        return Resolution(candidates=candidates, warnings=warnings)
