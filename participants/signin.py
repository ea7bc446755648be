"""A session's printed sign-in sheet, and the spreadsheet its marks are typed back into.

Each enrolled official has a row code on the sheet (models.SignInCode): short, from letters and
digits nobody misreads, stored once and then the same on every copy printed. Staff type the
codes and the statuses ticked on paper into the sheet's template (the same rows, pre-filled),
and the "sign-in sheet" import (participants/imports, kind "signin") marks exactly the rows whose
codes were typed; walk-ins written on the blank rows come back without a code and go through the
import's usual matching.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

import segno
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Session
from ministries.models import MinistryName
from participants.imports import files
from participants.imports.columns import SIGNIN_COLUMNS
from participants.models import Enrollment, Official, SignInCode
from participants.reports.exports import render_pdf

# No vowels (no words by chance), nothing read two ways on paper or typed two ways: no 0/O, 1/I/L,
# 2/Z, 5/S, 8/B, 6/G. 19 symbols, 5 of them: 2.5 million codes, so a mistyped code is almost
# always one that exists nowhere (refused as unknown) rather than someone else's.
ALPHABET = "CDFHJKMNPRTVWXY3479"
CODE_LENGTH = 5
WALK_IN_ROWS = 10
# Attempts at giving every official a code not taken anywhere; each attempt draws fresh codes for
# the rows a collision left without one, so more than two is already vanishingly rare.
CODE_ATTEMPTS = 10


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def sheet_enrollments(session: Session) -> list[Enrollment]:
    """The officials on the sheet: those enrolled in the course (not withdrawn), by name, with
    their ministry's former names for the ministry of the day."""
    return list(
        Enrollment.objects.filter(course_id=session.course_id, status=Enrollment.Status.ENROLLED)
        .select_related("official", "ministry")
        .prefetch_related(Prefetch("ministry__former_names", queryset=MinistryName.objects.all()))
        .order_by("official__family_name", "official__given_name", "official__name_km", "pk")
    )


def sheet_codes(session: Session, enrollments: list[Enrollment]) -> dict[int, str]:
    """The row code of each of these enrolments at `session`, made for those that have none yet.

    Two sheets printed at the same moment cannot give one official two codes: the insert ignores
    rows the unique constraints refuse (that enrolment's code made meanwhile, or a code drawn that
    exists already) and what stands is read back; rows still without a code draw again."""
    wanted = {enrollment.pk for enrollment in enrollments}
    codes: dict[int, str] = {}
    for _attempt in range(CODE_ATTEMPTS):
        codes = dict(
            SignInCode.objects.filter(session=session, enrollment_id__in=wanted).values_list(
                "enrollment_id", "code"
            )
        )
        missing = wanted - codes.keys()
        if not missing:
            return codes
        SignInCode.objects.bulk_create(
            [SignInCode(session=session, enrollment_id=pk, code=_new_code()) for pk in sorted(missing)],
            ignore_conflicts=True,
        )
    raise RuntimeError(f"No free sign-in codes for session {session.pk} after {CODE_ATTEMPTS} attempts")


def session_day(session: Session) -> datetime.date | None:
    return timezone.localdate(session.starts_at) if session.starts_at else None


@dataclass(frozen=True)
class SheetRow:
    number: int
    code: str
    official: Official
    ministry_en: str
    ministry_km: str
    ministry_acronym: str


def sheet_rows(session: Session) -> list[SheetRow]:
    """The sheet's rows: each enrolled official with their code and their ministry as it was named
    on the session's day (a 2020 session of MIH officials shows MIH's name before the rename)."""
    enrollments = sheet_enrollments(session)
    codes = sheet_codes(session, enrollments)
    day = session_day(session)
    rows = []
    for number, enrollment in enumerate(enrollments, start=1):
        ministry = enrollment.ministry
        named = ministry.name_on(day) or ministry
        rows.append(
            SheetRow(
                number=number,
                code=codes[enrollment.pk],
                official=enrollment.official,
                ministry_en=named.name_en,
                ministry_km=named.name_km,
                ministry_acronym=named.acronym,
            )
        )
    return rows


def register_url(session: Session, request=None) -> str:
    path = reverse("session_detail", args=[session.pk]) + "#register"
    return request.build_absolute_uri(path) if request is not None else path


SHEET_TEMPLATE = "participants/signin_sheet_pdf.html"


def sheet_context(session: Session, *, request=None) -> dict:
    rows = sheet_rows(session)
    url = register_url(session, request)
    first = len(rows) + 1
    return {
        "session": session,
        "course": session.course,
        "rows": rows,
        "walk_ins": range(first, first + WALK_IN_ROWS),
        "qr_svg": segno.make(url, error="m").svg_inline(scale=2, border=1, omitsize=False),
        "register_url": url,
        "generated_at": timezone.localtime(),
    }


def sheet_pdf(session: Session, *, request=None) -> bytes:
    """The pre-filled sheet, A4 portrait, in English and Khmer, with the QR code of the register."""
    return render_pdf(SHEET_TEMPLATE, sheet_context(session, request=request))


def template_headers() -> list[str]:
    """Both languages in each header: the import recognises either half."""
    return [f"{column.label_en} / {column.label_km}" for column in SIGNIN_COLUMNS]


def sheet_template(session: Session, file_format: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the sheet's template: one row per code, in the order
    of the paper, status left empty to be typed from it; walk-ins are added below, without a code."""
    rows = [template_headers()]
    for row in sheet_rows(session):
        official = row.official
        rows.append(
            [
                row.code,
                "",
                "",
                official.family_name,
                official.given_name,
                official.name_km,
                row.ministry_acronym or row.ministry_en,
                "",
                "",
            ]
        )
    name = f"pcp-sign-in-sheet-session-{session.pk}.{file_format}"
    if file_format == "csv":
        return files.csv_bytes(rows), files.CSV, name
    help_rows = [
        [_("Status"), _("Type")],
        [_("Present"), "P"],
        [_("Late"), "L"],
        [_("Excused"), "E"],
        [_("Absent"), "A"],
        [
            _("Walk-ins"),
            _("Add a row without a code: the name, the ministry, and the phone or e-mail."),
        ],
    ]
    return files.xlsx_bytes([(_("Sign-in sheet"), rows), (_("Help"), help_rows)]), files.XLSX, name
