"""Certificates of completion: issuing them (a service), their codes, lookup and the bilingual PDF.

Who completed a course is decided by participants.reports.figures (the one definition of
completion), who completed a series by participants.series.series_status (the series' rule); a
certificate is issued once per enrolment, or once per official and series, and never re-issued.
Codes are 80 random bits written in Crockford's base-32 (no I, L, O, U), grouped by four: a code
read aloud or typed with O for 0 still matches, and a wrong or altered code simply matches nothing.
"""

from __future__ import annotations

import re
import secrets

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from courses.models import Project, Session
from courses.selectors import sessions_held_filter
from participants.models import Certificate, Enrollment, Official
from participants.reports.exports import render_pdf
from participants.reports.figures import ReportFilters, grouped_figures
from participants.series import series_status

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
    return Certificate.objects.select_related("enrollment__course", "series").filter(code=code).first()


def certificate_still_valid(certificate: Certificate) -> bool:
    """Whether the holder still completes the course (by the figures' definition) or the series
    (by its rule), today.

    A certificate is never deleted or re-issued, but one whose holder no longer completes (an
    attendance correction, a withdrawn enrolment, a stricter series rule) is shown as withdrawn on
    /verify/. Checked live (one figures query over the course, or series_status for the one
    official), so a correction back makes it valid again.
    """
    if certificate.is_series:
        status = series_status(certificate.series, [certificate.official_id]).get(certificate.official_id)
        return bool(status and status.completed)
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

        def already_issued(enrollment=enrollment) -> bool:
            return Certificate.objects.filter(enrollment=enrollment).exists()

        if _save_with_new_code(certificate, already_issued=already_issued):
            issued.append(certificate)
    return issued


def _save_with_new_code(certificate: Certificate, *, already_issued) -> bool:
    """Save with a fresh code; False when the certificate exists already (issued meanwhile by
    another request: the unique constraints decide, not a check before the insert)."""
    for _attempt in range(5):  # a clash of 80 random bits is not expected; retry anyway
        certificate.code = new_code()
        try:
            with transaction.atomic():
                certificate.save()
            return True
        except IntegrityError:
            if already_issued():
                return False
    return False


def series_completed_on(project: Project):
    """The day of the series' last held session: the day the series' completions stand on."""
    last_held = (
        Session.objects.filter(sessions_held_filter(), course__project=project).order_by("-starts_at").first()
    )
    return timezone.localdate(last_held.starts_at) if last_held else None


def certificates_for_series(project: Project):
    return list(
        Certificate.objects.filter(series=project).select_related("series").order_by("holder_name", "id")
    )


def series_certificates_count(project: Project) -> int:
    return Certificate.objects.filter(series=project).count()


@transaction.atomic
def certificates_issue_for_series(*, project: Project, issued_by=None) -> list[Certificate]:
    """Issue a series certificate to each official who completes `project`'s series by its rule
    (series_status) and has none yet; return the new ones. A fixed number of queries plus one
    insert per new certificate."""
    completed = [pk for pk, status in series_status(project).items() if status.completed]
    has_one = set(
        Certificate.objects.filter(series=project, official_id__in=completed).values_list(
            "official_id", flat=True
        )
    )
    officials = Official.objects.filter(pk__in=[pk for pk in completed if pk not in has_one]).order_by(
        "family_name", "given_name", "id"
    )
    completed_on = series_completed_on(project)
    title = project.title
    issued = []
    for official in officials:
        certificate = Certificate(
            series=project,
            official=official,
            holder_name=official.full_name,
            holder_name_km=official.name_km,
            course_title=title,
            completed_on=completed_on,
            issued_by=issued_by,
        )

        def already_issued(official=official) -> bool:
            return Certificate.objects.filter(series=project, official=official).exists()

        if _save_with_new_code(certificate, already_issued=already_issued):
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
