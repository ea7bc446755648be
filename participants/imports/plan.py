"""The preview: what each row of a file will do, stored (ImportRow) before anything is written.

Each planned row is a small JSON object: its line, its action (create, update, skip, error or
decide), the reason shown beside it, and exactly what apply.py will write — the fields of a new
official, the changes to an existing one with the values read at preview time (apply refuses
the whole import if one of them changed since), the enrolment, the attendance status and the
version read. A row to decide carries candidates, each with what choosing it would write.

The file is read as a stream and the plan written PLAN_BATCH rows at a time (one INSERT each), so
a worker previewing 50,000 rows holds one batch of planned rows, not the file; `plan_chunks`
reads them back the same way, by position (keyset).
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from courses.models import Course, Session
from participants import services
from participants.imports import progress
from participants.imports.columns import (
    ENROLLED_ON,
    NAME,
    NOTE,
    OFFICIAL_COLUMNS,
    SIGNIN_COLUMNS,
    SPECS,
    find_table,
    normalise_code,
)
from participants.imports.matching import (
    MinistryIndex,
    OfficialIndex,
    Resolution,
    clean_text,
    email_key,
    latin_digits,
    name_key,
    official_label,
    phone_canonical,
    phone_key,
)
from participants.imports.progress import Reporter
from participants.imports.reading import ImportFileError, check_file, read_file
from participants.models import (
    Attendance,
    AttendanceStatus,
    Enrollment,
    ImportBatch,
    ImportProgress,
    ImportRow,
    Official,
    SignInCode,
)
from pcp_portal import outbox
from pcp_portal.spreadsheets import looks_like_formula

PREVIEW_TASK = "participants.imports.tasks.preview_batch"
# Planned rows written by one INSERT, and read back by one SELECT.
PLAN_BATCH = 1000

CREATE, UPDATE, SKIP, ERROR, DECIDE = "create", "update", "skip", "error", "decide"
ACTIONS = (CREATE, UPDATE, SKIP, ERROR, DECIDE)
# The imports that record attendance at one session: a typed sign-in sheet, matched by name, and a
# printed one (participants/signin.py), matched by its row codes.
SESSION_KINDS = ("attendance", "signin")

SEX_WORDS = {
    "female": ("f", "female", "woman", "w", "ស្រី", "ស", "នារី"),
    "male": ("m", "male", "man", "ប្រុស", "ប", "បុរស"),
    "other": ("other", "not stated", "x", "ផ្សេង", "ផ្សេងៗ"),
}
LANGUAGE_WORDS = {"en": ("en", "english", "អង់គ្លេស"), "km": ("km", "kh", "khmer", "ខ្មែរ")}
STATUS_WORDS = {
    "present": ("present", "p", "yes", "y", "✓", "✔", "x", "1", "មក", "វត្តមាន", "មានវត្តមាន"),
    "late": ("late", "l", "យឺត", "មកយឺត"),
    "excused": ("excused", "e", "excuse", "ច្បាប់", "មានច្បាប់", "សុំច្បាប់"),
    "absent": ("absent", "a", "no", "n", "0", "អវត្តមាន", "ឥតច្បាប់", "អត់"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d %b %Y", "%d %B %Y")
OFFICIAL_TEXT_FIELDS = ("family_name", "given_name", "name_km", "position", "phone")
FIELD_LIMITS = {key: Official._meta.get_field(key).max_length for key in OFFICIAL_TEXT_FIELDS}
# Every column an import reads, by key: a message names one the file lacks in the reader's language.
COLUMNS_BY_KEY = {
    column.key: column for column in (*OFFICIAL_COLUMNS, *SIGNIN_COLUMNS, ENROLLED_ON, NAME, NOTE)
}
NAME_KEYS = ("family_name", "given_name", "name_km")
# The columns that made two rows one person (by the planner's key prefix: e-mail, ID, name, official).
DUPLICATE_COLUMNS = {"e:": ("email",), "i:": ("official_id",), "n:": NAME_KEYS}
# A phone number in international form starts with "+": a number to dial, not a formula.
PHONE_NUMBER = re.compile(r"\+?[0-9 ().-]+")


def formula_note(key: str, text: str) -> str | None:
    """The preview's note on a cell a spreadsheet would run as a formula (the cells every export
    quotes, pcp_portal.spreadsheets). The cell is kept as the plain text it is, neither refused
    nor altered: the note lets the person confirming see it first. No name, position or note
    starts with =, +, -, @ (a negative number is not a name); a phone number may start with +."""
    if not looks_like_formula(text) or (key == "phone" and PHONE_NUMBER.fullmatch(text)):
        return None
    return _("a formula, kept as plain text and never run. Check it is what was meant.")


def _word(table: dict[str, tuple[str, ...]], text: str) -> str | None:
    key = clean_text(text).casefold()
    for value, words in table.items():
        if key in words:
            return value
    return None


KHMER_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("មករា",),
            ("កុម្ភៈ", "កុម្ភះ"),
            ("មីនា",),
            ("មេសា",),
            ("ឧសភា",),
            ("មិថុនា",),
            ("កក្កដា",),
            ("សីហា",),
            ("កញ្ញា",),
            ("តុលា",),
            ("វិច្ឆិកា",),
            ("ធ្នូ",),
        ),
        start=1,
    )
    for name in names
}
# Excel counts days from 1899-12-30; serials between these bounds are 1954 to 2119.
EXCEL_EPOCH = datetime.date(1899, 12, 30)
SERIAL_RANGE = (20_000, 80_000)
DAY_FIRST, MONTH_FIRST = "dmy", "mdy"
SLASHED = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


def _date_text(text: str) -> str:
    text = clean_text(latin_digits(text))
    for name, number in KHMER_MONTHS.items():
        text = text.replace(name, f" {number} ")
    text = re.sub(r"^ថ្ងៃទី\s*|ខែ|ឆ្នាំ", " ", text)
    return clean_text(text)


def date_convention(texts) -> str:
    """The file's order for dates such as 03/04/2020: day first unless a date of the file can only
    be month first (04/25/2020) and none can only be day first (25/04/2020). Cambodia writes day first."""
    day_first = month_first = False
    for text in texts:
        found = SLASHED.fullmatch(_date_text(text))
        if found:
            first, second = int(found[1]), int(found[2])
            day_first |= first > 12
            month_first |= second > 12
    return MONTH_FIRST if month_first and not day_first else DAY_FIRST


def parse_date(text: str, convention: str = DAY_FIRST) -> datetime.date | None:
    """A date as people type it or spreadsheets save it: ISO, 25/02/2020 (or 02/25/2020 in a
    month-first file), 25 Feb 2020, an Excel day serial, Khmer digits and Khmer month names
    (២៥ កុម្ភៈ ២០២០)."""
    text = _date_text(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?", text):
        text = text[:10]
    if re.fullmatch(r"\d{5}(\.0+)?", text) and SERIAL_RANGE[0] <= float(text) <= SERIAL_RANGE[1]:
        return EXCEL_EPOCH + datetime.timedelta(days=int(float(text)))
    found = SLASHED.fullmatch(text)
    if found:
        first, second, year = int(found[1]), int(found[2]), int(found[3])
        day, month = (second, first) if convention == MONTH_FIRST else (first, second)
        try:
            return datetime.date(year, month, day)
        except ValueError:
            return None
    spaced = re.fullmatch(r"(\d{1,2}) (\d{1,2}) (\d{4})", text)
    if spaced:  # a Khmer month name, replaced by its number above
        try:
            return datetime.date(int(spaced[3]), int(spaced[2]), int(spaced[1]))
        except ValueError:
            return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def is_ambiguous_date(text: str) -> bool:
    found = SLASHED.fullmatch(_date_text(text))
    return bool(found) and int(found[1]) <= 12 and int(found[2]) <= 12 and found[1] != found[2]


def status_label(status: str) -> str:
    """An attendance status in the reader's language, never the stored key."""
    return str(AttendanceStatus(status).label)


class Planner:
    """Plans the rows of one file; `index` grows with the officials the file itself will create."""

    def __init__(self, kind: str, *, course: Course | None = None, session: Session | None = None) -> None:
        self.kind = kind
        self.course = course
        self.session = session
        self.ministries = MinistryIndex()
        if kind in SESSION_KINDS:
            enrolled = Enrollment.objects.filter(
                course_id=session.course_id, status=Enrollment.Status.ENROLLED
            ).select_related("official")
            self.enrolments = {e.official_id: e for e in enrolled}
            self.index = OfficialIndex([e.official for e in enrolled])
            self.everyone = OfficialIndex()
            self.attendance = {a.enrollment_id: a for a in Attendance.objects.filter(session=session)}
            if kind == "signin":
                self.by_enrolment = {e.pk: e for e in self.enrolments.values()}
                self.codes = dict(
                    SignInCode.objects.filter(session=session).values_list("code", "enrollment_id")
                )
                self.code_lines: dict[str, int] = {}
        else:
            self.index = OfficialIndex()
            if kind == "enrolments":
                self.enrolments = {e.official_id: e for e in Enrollment.objects.filter(course=course)}
        # What an enrolment without a date is dated: read once, not once per row.
        self.default_date = services.enrollment_date(course) if kind == "enrolments" and course else None
        self.seen: dict[str, int] = {}
        self.identical: dict[bytes, int] = {}
        # Whether a date such as 03/04/2020 was read: the preview then says how.
        self.ambiguous_dates = False
        self.convention = DAY_FIRST
        self.headers: dict[str, str] = {}

    # --- helpers -----------------------------------------------------------------------------
    def _label(self, official: Official) -> str:
        return official_label(official, self.ministries.by_id)

    def _header(self, key: str) -> str:
        """A column as the file's header names it; one the file lacks by its name in the reader's
        language (never the stored key)."""
        if self.headers.get(key):
            return self.headers[key]
        column = COLUMNS_BY_KEY.get(key)
        if column is None:
            return key
        return column.label_km if (get_language() or "").startswith("km") else column.label_en

    def _at(self, line: int, keys, values: dict, problem: str) -> str:
        """A row's message: the row, the column(s) as the file names them, the value read, then the
        problem and what to do about it."""
        given = [key for key in keys if clean_text(values.get(key, ""))]
        keys = given or [key for key in keys if key in self.headers] or list(keys)[:1]
        value = " ".join(clean_text(values.get(key, "")) for key in keys).strip()
        if len(value) > 60:
            value = value[:60] + "…"
        return _("Row %(line)s, column “%(column)s”, “%(value)s”: %(problem)s") % {
            "line": line,
            "column": " / ".join(self._header(key) for key in keys),
            "value": value,
            "problem": problem,
        }

    def _duplicate(self, line: int, keys: list[str], values: dict | None = None) -> str | None:
        for key in keys:
            if key in self.seen:
                columns = DUPLICATE_COLUMNS.get(key[:2], NAME_KEYS)
                return self._at(
                    line,
                    columns,
                    values or {},
                    _("the same person as on row %(first)s. Keep one of the two rows.")
                    % {"first": self.seen[key]},
                )
        for key in keys:
            self.seen[key] = line
        return None

    def _identical(self, line: int, values: dict) -> str | None:
        """A row typed twice, the same in every cell: merged into its first copy, with a note."""
        # A digest, not the cells: the planner keeps one per row of the file.
        key = hashlib.blake2b(
            repr(sorted((k, text) for k, v in values.items() if (text := clean_text(v)))).encode(),
            digest_size=16,
        ).digest()
        if key in self.identical:
            return _(
                "Row %(line)s repeats row %(first)s exactly; it is imported once, from row %(first)s."
            ) % {
                "line": line,
                "first": self.identical[key],
            }
        self.identical[key] = line
        return None

    def _official_fields(self, line: int, values: dict[str, str]) -> tuple[dict, list[str], list[str]]:
        """The official's fields a row gives (only the non-empty ones), its errors and notes."""
        fields: dict = {}
        errors: list[str] = []
        notes: list[str] = []
        for key in OFFICIAL_TEXT_FIELDS:
            text = clean_text(values.get(key, ""))
            if not text:
                continue
            if len(text) > FIELD_LIMITS[key]:
                errors.append(self._too_long(line, key, values, FIELD_LIMITS[key]))
            formula = formula_note(key, text)
            if formula:
                notes.append(self._at(line, [key], values, formula))
            # One stored form: +85512345678 when the country code is given, else the digits typed.
            fields[key] = phone_canonical(text) if key == "phone" else text
        email = values.get("email", "").strip()
        if email:
            try:
                validate_email(email)
                fields["email"] = email
            except ValidationError:
                errors.append(self._bad_email(line, values))
        if values.get("sex", "").strip():
            sex = _word(SEX_WORDS, values["sex"])
            if sex is None:
                errors.append(
                    self._at(line, ["sex"], values, _("not understood. Write female, male or other."))
                )
            else:
                fields["sex"] = sex
        if values.get("preferred_language", "").strip():
            language = _word(LANGUAGE_WORDS, values["preferred_language"])
            if language is None:
                errors.append(
                    self._at(line, ["preferred_language"], values, _("not understood. Write km or en."))
                )
            else:
                fields["preferred_language"] = language
        return fields, errors, notes

    def _bad_status(self, line: int, values: dict) -> str:
        return self._at(
            line, ["status"], values, _("not understood. Write present, late, excused or absent.")
        )

    def _too_long(self, line: int, key: str, values: dict, limit: int) -> str:
        return self._at(
            line, [key], values, _("longer than %(limit)s characters. Shorten it.") % {"limit": limit}
        )

    def _bad_email(self, line: int, values: dict) -> str:
        return self._at(
            line, ["email"], values, _("not a valid e-mail address. Correct it, or leave the cell empty.")
        )

    def _changes(self, official: Official, fields: dict, ministry) -> dict:
        changes = {}
        for key, new in fields.items():
            old = getattr(official, key)
            if key == "email":
                same = email_key(old) == email_key(new)
            elif key == "phone":
                same = phone_key(old) == phone_key(new)
            elif key in ("family_name", "given_name", "name_km"):
                same = name_key(old) == name_key(new)
            else:
                same = old == new
            if not same:
                changes[key] = [old, new]
        if ministry is not None and ministry.pk != official.ministry_id:
            changes["ministry"] = [official.ministry_id, ministry.pk]
        return changes

    def _column_names(self, keys) -> list[str]:
        """Fields as the file's header names them (or the field's name in the reader's language),
        never the stored key."""
        return [self.headers.get(key) or str(Official._meta.get_field(key).verbose_name) for key in keys]

    def _email_taken(self, fields: dict, official: Official | None) -> str | None:
        email = email_key(fields.get("email", ""))
        owner = self.index.by_email.get(email) if email else None
        if owner is not None and owner != official:
            return _("this e-mail is already used by another official, %(other)s. Correct the e-mail.") % {
                "other": self._label(owner)
            }
        return None

    def _row(self, line: int, values: dict, **extra) -> dict:
        row = {"line": line, "values": values, "action": SKIP, "reason": "", "notes": []}
        row.update(extra)
        return row

    def _person_keys(self, values: dict, ministry) -> list[str]:
        keys = []
        # A phone is not a person (colleagues share an office line): only the e-mail, the ID, or the
        # name at one ministry when neither is given, make two rows the same person.
        if email_key(values.get("email", "")):
            keys.append("e:" + email_key(values["email"]))
        if latin_digits(values.get("official_id", "")).strip():
            keys.append("i:" + latin_digits(values["official_id"]).strip())
        names = OfficialIndex.row_name_keys(values)
        if not keys and names:
            keys.extend(f"n:{name}:{ministry.pk if ministry else ''}" for name in sorted(names))
        return keys

    # --- officials and enrolments ---------------------------------------------------------------
    def plan_official_row(self, line: int, values: dict, cell_errors=()) -> dict:
        repeat = self._identical(line, values)
        if repeat:
            return self._row(line, values, reason=repeat)
        fields, errors, notes = self._official_fields(line, values)
        errors[:0] = cell_errors
        ministry, ministry_error = self.ministries.find(values.get("ministry", ""))
        row = self._row(line, values, notes=notes)
        if ministry_error:
            errors.insert(0, self._at(line, ["ministry"], values, ministry_error))
        if not (fields.get("family_name") or fields.get("given_name") or fields.get("name_km")):
            errors.append(
                self._at(
                    line,
                    NAME_KEYS,
                    values,
                    _("no name. Give the family and given names, or the full name in Khmer."),
                )
            )
        if self.kind == "enrolments":
            enrolled_on = values.get("enrolled_on", "").strip()
            if enrolled_on:
                day = parse_date(enrolled_on, self.convention)
                if day is None:
                    errors.append(
                        self._at(
                            line,
                            ["enrolled_on"],
                            values,
                            _("date not understood. Write it as 2020-02-25 or 25/02/2020."),
                        )
                    )
                else:
                    row["enrolled_on"] = day.isoformat()
                    if is_ambiguous_date(enrolled_on):
                        self.ambiguous_dates = True
                        row["notes"].append(
                            self._at(
                                line,
                                ["enrolled_on"],
                                values,
                                _("read as %(date)s. If that is wrong, write the date as 2020-02-25.")
                                % {"date": day.isoformat()},
                            )
                        )
        if not errors:
            duplicate = self._duplicate(line, self._person_keys(values, ministry), values)
            if duplicate:
                errors.append(duplicate)
        if errors:
            row.update(action=ERROR, reason=" ".join(errors))
            return row
        resolution: Resolution = self.index.resolve(values, ministry, self.ministries.by_id)
        row["notes"].extend(self._at(line, ["phone"], values, warning) for warning in resolution.warnings)
        create = None
        # A new official needs a ministry and a whole name: both Latin names, or the Khmer name
        # (many nominee lists are written in Khmer only).
        whole_name = fields.get("name_km") or (fields.get("family_name") and fields.get("given_name"))
        if ministry is not None and whole_name:
            create = {**fields, "ministry": ministry.pk}
        if resolution.error:
            row.update(action=ERROR, reason=self._at(line, resolution.error_keys, values, resolution.error))
        elif resolution.official is not None:
            self._plan_match(row, resolution.official, fields, ministry)
        elif resolution.candidates:
            row.update(
                action=DECIDE,
                reason=_("A possible match that is not certain: choose who this is."),
                create=create if create and not self._email_taken(fields, None) else None,
                candidates=[self._candidate(o, why, fields, ministry) for o, why in resolution.candidates],
            )
        elif create is None:
            row.update(
                action=ERROR,
                reason=self._at(
                    line,
                    [*NAME_KEYS, "ministry"],
                    values,
                    _(
                        "no official matches. To add a new official give the ministry and the name: "
                        "the family and given names in Latin script, or the full name in Khmer."
                    ),
                ),
            )
        else:
            row.update(action=CREATE, create=create, label=self._new_label(fields, ministry))
            row["reason"] = (
                _("New official.") if self.kind == "officials" else _("New official, enrolled in the course.")
            )
        if self.kind == "enrolments" and row["action"] == CREATE:
            official = resolution.official
            of_row = self.ministries.by_id[official.ministry_id] if official else ministry
            self._check_ministry_on_date(row, of_row)
        return row

    def _check_ministry_on_date(self, row: dict, ministry) -> None:
        """The rule enrollment_create applies at confirmation, shown already in the preview."""
        day = datetime.date.fromisoformat(row["enrolled_on"]) if row.get("enrolled_on") else self.default_date
        refusal = services.ministry_refusal(ministry, day)
        if refusal:
            row.update(action=ERROR, reason=refusal, create=None)

    def _new_label(self, fields: dict, ministry) -> str:
        latin = " ".join(
            p for p in (fields.get("family_name", "").upper(), fields.get("given_name", "")) if p
        )
        label = f"{latin or fields.get('name_km', '')} ({ministry.acronym or ministry.name_en})"
        return f"{label} <{fields['email']}>" if fields.get("email") else label

    def _candidate(self, official: Official, why: str, fields: dict, ministry) -> dict:
        candidate = {"id": official.pk, "label": self._label(official), "why": why}
        if self.kind == "enrolments":
            candidate["action"] = SKIP if official.pk in self.enrolments else CREATE
        if self.kind == "officials":
            fields = {
                k: v for k, v in fields.items() if k != "email" or not self._email_taken(fields, official)
            }
            candidate["changes"] = self._changes(official, fields, ministry)
        return candidate

    def _plan_match(self, row: dict, official: Official, fields: dict, ministry) -> None:
        row.update(official=official.pk, label=self._label(official))
        if self.kind == "officials":
            taken = self._email_taken(fields, official)
            if taken:
                row.update(action=ERROR, reason=self._at(row["line"], ["email"], row["values"], taken))
                return
            changes = self._changes(official, fields, ministry)
            if changes:
                row.update(
                    action=UPDATE,
                    changes=changes,
                    reason=_("Matched an existing official; these fields change: %(fields)s.")
                    % {"fields": ", ".join(self._column_names(changes))},
                )
            else:
                row.update(action=SKIP, reason=_("Already up to date."))
            return
        enrolment = self.enrolments.get(official.pk)
        if enrolment is not None:
            reason = (
                _("Already enrolled in this course.")
                if enrolment.status == Enrollment.Status.ENROLLED
                else _("Withdrawn from this course; reinstate them on the course page if needed.")
            )
            row.update(action=SKIP, reason=reason)
        else:
            row.update(action=CREATE, reason=_("Existing official, enrolled in the course."))

    # --- attendance ---------------------------------------------------------------------------
    def plan_attendance_row(self, line: int, values: dict, cell_errors=()) -> dict:
        repeat = self._identical(line, values)
        if repeat:
            return self._row(line, values, reason=repeat)
        row = self._row(line, values)
        errors = list(cell_errors)
        status = _word(STATUS_WORDS, values.get("status", ""))
        if status is None:
            errors.append(self._bad_status(line, values))
        note = clean_text(values.get("note", ""))
        if len(note) > Attendance.NOTE_MAX_LENGTH:
            errors.append(self._too_long(line, "note", values, Attendance.NOTE_MAX_LENGTH))
        formula = formula_note("note", note)
        if formula:
            row["notes"].append(self._at(line, ["note"], values, formula))
        email = values.get("email", "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(self._bad_email(line, values))
        if errors:
            row.update(action=ERROR, reason=" ".join(errors))
            return row
        resolution = self.index.resolve(values, None, self.ministries.by_id, name_alone_is_certain=True)
        row["notes"].extend(self._at(line, ["phone"], values, warning) for warning in resolution.warnings)
        if resolution.error:
            row.update(action=ERROR, reason=self._at(line, resolution.error_keys, values, resolution.error))
            return row
        if resolution.official is None and not resolution.candidates:
            elsewhere = self.everyone.resolve(values, None, self.ministries.by_id)
            someone = elsewhere.official or (elsewhere.candidates[0][0] if elsewhere.candidates else None)
            reason = (
                _(
                    "this is %(official)s, who is not enrolled in this course. Enrol them on the course "
                    "page first, or correct the row."
                )
                % {"official": self._label(someone)}
                if someone is not None
                else _("no official enrolled in this course matches. Correct the name or the e-mail.")
            )
            row.update(action=ERROR, reason=self._at(line, [*NAME_KEYS, "name", "email"], values, reason))
            return row
        if resolution.official is not None:
            duplicate = self._duplicate(line, [f"o:{resolution.official.pk}"], values)
            if duplicate:
                row.update(action=ERROR, reason=duplicate)
                return row
            row.update(official=resolution.official.pk, label=self._label(resolution.official))
            row.update(self._attendance_change(resolution.official, status, note))
            return row
        row.update(
            action=DECIDE,
            reason=_("A possible match that is not certain: choose who this is."),
            candidates=[
                {"id": o.pk, "label": self._label(o), "why": why, **self._attendance_change(o, status, note)}
                for o, why in resolution.candidates
            ],
        )
        return row

    # --- a printed sign-in sheet ------------------------------------------------------------------
    def plan_signin_row(self, line: int, values: dict, cell_errors=()) -> dict:
        """A row with a code marks the official printed beside that code on this session's sheet,
        and nobody else: the names typed beside it are not read. A row without one is a walk-in,
        matched like a row of the attendance import. A row with a code and no status was left
        blank on the paper: nothing changes."""
        code = normalise_code(values.get("row_code", ""))
        if not code:
            return self.plan_attendance_row(line, values, cell_errors)
        row = self._row(line, values, code=code)
        errors = list(cell_errors)
        if code in self.code_lines:
            errors.append(
                self._at(
                    line,
                    ["row_code"],
                    values,
                    _("this row code is also on row %(first)s. Keep one of the two rows.")
                    % {"first": self.code_lines[code]},
                )
            )
        else:
            self.code_lines[code] = line
        enrolment = self.by_enrolment.get(self.codes.get(code))
        if code not in self.codes:
            other = SignInCode.objects.filter(code=code).select_related("session").first()
            errors.append(
                self._at(
                    line,
                    ["row_code"],
                    values,
                    _(
                        "this row code is from the sign-in sheet of another session, %(session)s. Import "
                        "that sheet into its own session."
                    )
                    % {"session": other.session}
                    if other is not None
                    else _("this row code is not on this session's sign-in sheet. Check it on the paper."),
                )
            )
        elif enrolment is None:
            errors.append(
                self._at(
                    line,
                    ["row_code"],
                    values,
                    _(
                        "this official was withdrawn from the course after printing. Reinstate them on "
                        "the course page, or remove the row."
                    ),
                )
            )
        typed = clean_text(values.get("status", ""))
        status = _word(STATUS_WORDS, typed) if typed else None
        if typed and status is None:
            errors.append(self._bad_status(line, values))
        note = clean_text(values.get("note", ""))
        if len(note) > Attendance.NOTE_MAX_LENGTH:
            errors.append(self._too_long(line, "note", values, Attendance.NOTE_MAX_LENGTH))
        if enrolment is not None:
            row.update(official=enrolment.official_id, label=f"{code} · {self._label(enrolment.official)}")
        if errors:
            row.update(action=ERROR, reason=" ".join(errors))
            return row
        if status is None:
            row.update(reason=_("No status typed for this row: left as it is."))
            return row
        formula = formula_note("note", note)
        if formula:
            row["notes"].append(self._at(line, ["note"], values, formula))
        duplicate = self._duplicate(line, [f"o:{enrolment.official_id}"], values)
        if duplicate:
            row.update(action=ERROR, reason=duplicate)
            return row
        row.update(self._attendance_change(enrolment.official, status, note))
        return row

    def _attendance_change(self, official: Official, status: str, note: str) -> dict:
        enrolment = self.enrolments[official.pk]
        current = self.attendance.get(enrolment.pk)
        planned = {"enrollment": enrolment.pk, "status": status, "note": note}
        if current is None:
            return {
                "action": CREATE,
                "attendance": {**planned, "version": 0},
                "reason": _("Recorded as %(s)s.") % {"s": status_label(status)},
            }
        if current.status == status and (not note or current.note == note):
            return {"action": SKIP, "reason": _("Already recorded as %(s)s.") % {"s": status_label(status)}}
        return {
            "action": UPDATE,
            "attendance": {**planned, "version": current.version, "note": note or current.note},
            "changes": {"status": [current.status, status]},
            "reason": _("Changes from %(old)s to %(new)s.")
            % {"old": status_label(current.status), "new": status_label(status)},
        }

    def plan(self, rows, *, cell_errors=None, headers=None, on_row=None) -> list[dict]:
        """`cell_errors`: by line, the cells that could not be read (columns.Table.cell_errors);
        `on_row()` is called after each row (the progress bar)."""
        rows = list(rows)
        self.convention = date_convention(values.get("enrolled_on", "") for _line, values in rows)
        return list(self.plan_iter(rows, cell_errors=cell_errors, headers=headers, on_row=on_row))

    def plan_iter(self, rows, *, cell_errors=None, headers=None, on_row=None) -> Iterator[dict]:
        """As plan(), one row at a time as `rows` are read, with the date convention already set
        (`self.convention`). `cell_errors` may be filled while `rows` are read."""
        cell_errors = {} if cell_errors is None else cell_errors
        self.headers = headers or {}
        planner = {"attendance": self.plan_attendance_row, "signin": self.plan_signin_row}.get(
            self.kind, self.plan_official_row
        )
        for line, values in rows:
            yield planner(line, values, cell_errors.get(line, ()))
            if on_row:
                on_row()


def count(rows: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(ACTIONS, 0)
    for row in rows:
        counts[row["action"]] += 1
    return counts


def _new_batch(*, kind, filename, data, user, course, session) -> ImportBatch:
    if kind not in SPECS:
        raise ValueError(kind)
    return ImportBatch(
        kind=kind,
        filename=clean_text(filename)[: ImportBatch._meta.get_field("filename").max_length] or "upload",
        checksum=hashlib.sha256(data).hexdigest(),
        size=len(data),
        course=course if kind == "enrolments" else (session.course if session else None),
        session=session if kind in SESSION_KINDS else None,
        uploaded_by=user,
        language=get_language() or "",
    )


def _check_context(kind: str, course: Course | None, session: Session | None) -> None:
    if kind == "enrolments" and course is None:
        raise ImportFileError(_("Choose the course to enrol the officials in."))
    if kind in SESSION_KINDS:
        if session is None:
            raise ImportFileError(_("Choose the session the sign-in sheet is for."))
        if session.status == Session.Status.CANCELLED:
            raise ImportFileError(_("This session was cancelled; attendance cannot be recorded."))


def _refused(batch: ImportBatch, error: ImportFileError) -> None:
    batch.status = ImportBatch.Status.FAILED
    batch.message = error.message
    batch.upload = b""
    batch.save()


def store_rows(batch: ImportBatch, rows: Iterable[dict]) -> dict[str, int]:
    """Write the planned `rows` of `batch` (saved) PLAN_BATCH at a time; their counts by action."""
    counts = dict.fromkeys(ACTIONS, 0)
    positions = itertools.count()
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, PLAN_BATCH)):
        ImportRow.objects.bulk_create(
            [
                ImportRow(
                    batch=batch, index=next(positions), line=row["line"], action=row["action"], plan=row
                )
                for row in chunk
            ]
        )
        for row in chunk:
            counts[row["action"]] += 1
    return counts


def plan_chunks(batch_id: int, *, actions: Iterable[str] | None = None, exclude: Iterable[str] = ()):
    """The planned rows of a batch in file order, PLAN_BATCH at a time: lists of (position, row),
    each list one query by position (keyset), so no more than one batch is in memory."""
    rows = ImportRow.objects.filter(batch_id=batch_id)
    if actions is not None:
        rows = rows.filter(action__in=list(actions))
    if exclude:
        rows = rows.exclude(action__in=list(exclude))
    after = -1
    while chunk := list(
        rows.filter(index__gt=after).order_by("index").values_list("index", "plan")[:PLAN_BATCH]
    ):
        yield chunk
        after = chunk[-1][0]


def _table(batch: ImportBatch, filename: str, data: bytes):
    return find_table(SPECS[batch.kind], read_file(filename, data, stream=True))


def _plan_into(batch: ImportBatch, filename: str, data: bytes, reporter: Reporter | None = None) -> None:
    """Read and plan `data` onto `batch` (saved): its plan rows are written, its counts, message
    and status set (not saved). ImportFileError when the whole file is refused; the rows written
    by then are the caller's to remove.

    The file is read twice, each time as a stream: once to count its rows (the progress bar's
    total; what the reader refuses is refused there, before a row is planned) and to learn its
    date convention, which every row's date depends on; then to plan and store it."""
    course = batch.course if batch.kind == "enrolments" else None
    session = batch.session if batch.kind in SESSION_KINDS else None
    _check_context(batch.kind, course, session)
    if reporter:
        reporter.start(ImportProgress.Phase.READING, 0)
    total = 0
    dates = []
    for _line, values in _table(batch, filename, data).rows:
        total += 1
        if values.get("enrolled_on"):
            dates.append(values["enrolled_on"])
    planner = Planner(batch.kind, course=course, session=session)
    planner.convention = date_convention(dates)
    del dates
    if reporter:
        reporter.start(ImportProgress.Phase.PLANNING, total)
    table = _table(batch, filename, data)
    batch.counts = store_rows(
        batch,
        planner.plan_iter(
            table.rows,
            cell_errors=table.cell_errors,
            headers=table.headers,
            on_row=reporter and reporter.advance,
        ),
    )
    said = list(table.notes)
    if table.ignored:
        said.append(_("Columns not used: %(columns)s.") % {"columns": ", ".join(table.ignored)[:500]})
    if planner.ambiguous_dates:
        said.append(
            _("Dates such as 03/04/2020 are read as month/day/year, as elsewhere in this file.")
            if planner.convention == MONTH_FIRST
            else _("Dates such as 03/04/2020 are read as day/month/year (3 April 2020).")
        )
    batch.message = " ".join(said)
    previous = (
        ImportBatch.objects.filter(
            checksum=batch.checksum, kind=batch.kind, status=ImportBatch.Status.APPLIED
        )
        .order_by("-applied_at")
        .first()
    )
    if previous is not None:
        seen = _("The same file was already imported on %(when)s.") % {
            "when": timezone.localtime(previous.applied_at).strftime("%Y-%m-%d %H:%M")
        }
        batch.message = f"{seen} {batch.message}".strip()
    batch.status = ImportBatch.Status.PREVIEWED


def preview_import(
    *,
    kind: str,
    filename: str,
    data: bytes,
    user,
    course: Course | None = None,
    session: Session | None = None,
) -> ImportBatch:
    """Read and plan a file in this process; store and return its ImportBatch. A refused file is
    recorded as failed and ImportFileError is raised with the reason; nothing else is written."""
    batch = _new_batch(kind=kind, filename=filename, data=data, user=user, course=course, session=session)
    try:
        with transaction.atomic():
            batch.status = ImportBatch.Status.PREVIEWING
            batch.save()
            _plan_into(batch, filename, data)
            batch.save()
    except ImportFileError as error:
        batch.pk = None  # rolled back with its plan rows: the refusal is recorded alone
        _refused(batch, error)
        raise
    return batch


def queue_preview(
    *,
    kind: str,
    filename: str,
    data: bytes,
    user,
    course: Course | None = None,
    session: Session | None = None,
) -> ImportBatch:
    """Store the file on a queued batch and have a worker preview it (preview_queued). What can be
    refused without reading the file (no course, a cancelled session) is refused here, as
    preview_import refuses it."""
    batch = _new_batch(kind=kind, filename=filename, data=data, user=user, course=course, session=session)
    try:
        _check_context(kind, course, session)
        check_file(filename, data)
    except ImportFileError as error:
        _refused(batch, error)
        raise
    batch.status = ImportBatch.Status.QUEUED
    batch.upload = data
    with transaction.atomic():
        batch.save()
        progress.ensure(batch)
        outbox.enqueue(PREVIEW_TASK, batch.pk)
    return batch


def preview_queued(batch_id: int) -> None:
    """The worker's side of queue_preview. A preview writes nothing but its batch, so a task
    delivered twice, or run again after a worker died, simply previews again; a batch previewed
    already (or discarded) is left alone."""
    claimed = ImportBatch.objects.filter(
        pk=batch_id, status__in=[ImportBatch.Status.QUEUED, ImportBatch.Status.PREVIEWING]
    ).update(status=ImportBatch.Status.PREVIEWING)
    if not claimed:
        return
    batch = ImportBatch.objects.select_related("course", "session").get(pk=batch_id)
    # The rows a worker killed half-way through wrote: this preview starts again from the top.
    ImportRow.objects.filter(batch_id=batch_id).delete()
    with Reporter(batch_id) as reporter, translation.override(batch.language or None):
        try:
            _plan_into(batch, batch.filename, bytes(batch.upload), reporter)
        except ImportFileError as error:
            batch.status, batch.message = ImportBatch.Status.FAILED, error.message
    # Conditional: a batch discarded meanwhile stays discarded.
    kept = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PREVIEWING).update(
        status=batch.status, counts=batch.counts, message=batch.message, upload=b""
    )
    if not kept or batch.status == ImportBatch.Status.FAILED:
        ImportRow.objects.filter(batch_id=batch_id).delete()
