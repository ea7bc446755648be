"""Certificates of completion: issuing them (a service), their codes, lookup and the bilingual PDF.

Who completed is decided by participants.reports.figures (the one definition of completion); a
certificate is issued once per enrolment and never re-issued. Codes are 80 random bits written
in Crockford's base-32 (no I, L, O, U), grouped by four: a code read aloud or typed with O for 0
still matches, and a wrong or altered code simply matches nothing.
"""

from __future__ import annotations

import re
import secrets

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from courses.models import Session
from courses.selectors import sessions_held_filter
from participants.models import Certificate, Enrollment
from participants.reports.exports import render_pdf
from participants.reports.figures import ReportFilters, grouped_figures

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS, GROUP_SIZE = 4, 4
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(rf"^[{ALPHABET}]{{{GROUPS * GROUP_SIZE}}}$")
# What /verify/ reads of a typed code (and shows back): a code with spaces and dashes fits easily.
TYPED_CODE_MAX_LENGTH = 64


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_SIZE))
    return "-".join(raw[i : i + GROUP_SIZE] for i in range(0, len(raw), GROUP_SIZE))


def normalise_code(text: str) -> str | None:
    """The stored form of a typed code, or None when it cannot be a code at all."""
    compact = re.sub(r"[\s-]", "", (text or "")[:TYPED_CODE_MAX_LENGTH]).upper().translate(_TYPOS)
    if not _CODE.match(compact):
        return None
    return "-".join(compact[i : i + GROUP_SIZE] for i in range(0, len(compact), GROUP_SIZE))


def certificate_lookup(text: str) -> Certificate | None:
    code = normalise_code(text)
    if code is None:
        return None
    return Certificate.objects.select_related("enrollment__course").filter(code=code).first()


def certificate_still_valid(certificate: Certificate) -> bool:
    """Whether the holder still completes the course, by the figures' definition, today.

    A certificate is never deleted or re-issued, but one whose holder no longer completes (an
    attendance correction, a withdrawn enrolment) is shown as withdrawn on /verify/. Checked live
    (one figures query over the course), so a correction back makes it valid again.
    """
    enrollment = certificate.enrollment
    per_enrolment = grouped_figures(ReportFilters(course_id=enrollment.course_id), "enrolment")
    figures = per_enrolment.get((enrollment.pk,))
    return bool(figures and figures.completed.total)


def completed_enrolments(course):
    """Active enrolments of `course` that meet its completion threshold (figures' definition)."""
    per_enrolment = grouped_figures(ReportFilters(course_id=course.pk), "enrolment")
    ids = [key[0] for key, figures in per_enrolment.items() if figures.completed.total]
    return Enrollment.objects.filter(pk__in=ids).select_related("official", "course")


def certificates_for_course(course):
    return list(
        Certificate.objects.filter(enrollment__course=course)
        .select_related("enrollment__course", "enrollment__official")
        .order_by("holder_name", "id")
    )


@transaction.atomic
def certificates_issue_for_course(*, course, issued_by=None) -> list[Certificate]:
    """Issue a certificate to each official who completed `course` and has none yet; return the new ones."""
    last_held = Session.objects.filter(sessions_held_filter(), course=course).order_by("-starts_at").first()
    completed_on = timezone.localdate(last_held.starts_at) if last_held else None
    issued = []
    for enrollment in completed_enrolments(course).filter(certificate__isnull=True):
        official = enrollment.official
        certificate = Certificate(
            enrollment=enrollment,
            holder_name=official.full_name,
            holder_name_km=official.name_km,
            course_title=str(course.title or course),
            completed_on=completed_on,
            issued_by=issued_by,
        )
        for _attempt in range(5):  # a clash of 80 random bits is not expected; retry anyway
            certificate.code = new_code()
            try:
                with transaction.atomic():
                    certificate.save()
                break
            except IntegrityError:
                if Certificate.objects.filter(enrollment=enrollment).exists():
                    certificate = None
                    break
        if certificate is not None and certificate.pk:
            issued.append(certificate)
    return issued


def verification_url(certificate: Certificate, request=None) -> str:
    path = reverse("certificate_verify_code", args=[certificate.code])
    return request.build_absolute_uri(path) if request is not None else path


def certificates_pdf(certificates: list[Certificate], *, request=None) -> bytes:
    """One A4 landscape page per certificate, in English and Khmer."""
    pages = [
        {"certificate": certificate, "url": verification_url(certificate, request)}
        for certificate in certificates
    ]
    return render_pdf("certificates/certificate_pdf.html", {"pages": pages})
