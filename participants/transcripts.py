"""An official's transcript: each course with its status and completion, each session with the
official's attendance. One selector builds it; the page, the PDF, the CSV and the API all show it.

Completion comes from participants.reports.figures (the rows every report sums), so a transcript
never disagrees with the reports; series completion from participants.series, as on the series page.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from participants.models import AttendanceStatus, Enrollment, Official
from participants.reports.exports import render_pdf
from participants.reports.figures import enrolment_figures
from participants.selectors import EnrolmentRecord, official_enrolments
from participants.series import OfficialSeries, official_series
from pcp_portal.spreadsheets import safe_row


class Completion:
    """What a transcript says of one enrolment's completion."""

    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"
    NOT_YET_HELD = "not_yet_held"  # no session of the course held yet: counts against no one
    WITHDRAWN = "withdrawn"

    LABELS = {
        COMPLETED: gettext_lazy("Completed"),
        NOT_COMPLETED: gettext_lazy("Not completed"),
        NOT_YET_HELD: gettext_lazy("No session held yet"),
        WITHDRAWN: gettext_lazy("Withdrawn"),
    }


@dataclass
class TranscriptSession:
    session_id: int
    title: str
    starts_at: object
    cancelled: bool
    held: bool
    attendance: str  # an AttendanceStatus value, or "" when not marked
    attendance_label: str
    title_km: str = ""  # the page shows it in Khmer mode; the PDF and CSV keep `title` (English)

    def title_in(self, language: str) -> str:
        return self.title_km if language == "km" and self.title_km else self.title

    @property
    def attendance_km(self) -> str:
        return _in_khmer(AttendanceStatus(self.attendance).label) if self.attendance else ""


def _in_khmer(label) -> str:
    """A lazy label in Khmer whatever the reader's language: the PDF says everything in both."""
    with translation.override("km"):
        return str(label)


@dataclass
class TranscriptCourse:
    enrollment: Enrollment
    held: int
    attended: int
    completion: str
    sessions: list[TranscriptSession] = field(default_factory=list)

    @property
    def course(self):
        return self.enrollment.course

    @property
    def completion_label(self) -> str:
        return str(Completion.LABELS[self.completion])

    @property
    def completion_km(self) -> str:
        return _in_khmer(Completion.LABELS[self.completion])


class SeriesCompletion:
    """What a transcript says of one series."""

    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"
    NOT_YET_HELD = "not_yet_held"  # no course of the series held yet: nobody has completed it

    LABELS = {
        COMPLETED: gettext_lazy("Series completed"),
        NOT_COMPLETED: gettext_lazy("Series not completed"),
        NOT_YET_HELD: gettext_lazy("No course of the series held yet"),
    }


@dataclass
class TranscriptSeries:
    """One series (project) the official is enrolled in, judged by the series' own rule."""

    project_id: int
    title: str
    courses: int
    courses_held: int
    courses_required: int
    courses_completed: int
    completion: str
    title_km: str = ""  # the page shows it in Khmer mode; the PDF and CSV keep `title` (English)

    @classmethod
    def of(cls, series: OfficialSeries) -> TranscriptSeries:
        if series.rule.courses_held == 0:
            completion = SeriesCompletion.NOT_YET_HELD
        elif series.status.completed:
            completion = SeriesCompletion.COMPLETED
        else:
            completion = SeriesCompletion.NOT_COMPLETED
        return cls(
            project_id=series.project.pk,
            title=str(series.project),
            courses=series.rule.courses,
            courses_held=series.rule.courses_held,
            courses_required=series.status.courses_required,
            courses_completed=series.status.courses_completed,
            completion=completion,
            title_km=series.project.label_in("km"),
        )

    def label_in(self, language: str) -> str:
        return self.title_km if language == "km" and self.title_km else self.title

    @property
    def completion_label(self) -> str:
        return str(SeriesCompletion.LABELS[self.completion])

    @property
    def completion_km(self) -> str:
        return _in_khmer(SeriesCompletion.LABELS[self.completion])


@dataclass
class Transcript:
    official: Official
    courses: list[TranscriptCourse]
    series: list[TranscriptSeries] = field(default_factory=list)

    def series_of(self, project_id: int) -> TranscriptSeries | None:
        return next((entry for entry in self.series if entry.project_id == project_id), None)


def _course(record: EnrolmentRecord, figures, now) -> TranscriptCourse:
    enrollment = record.enrollment
    sessions = [
        TranscriptSession(
            session_id=mark.session.pk,
            title=mark.session.title,
            title_km=mark.session.title_km,
            starts_at=mark.session.starts_at,
            cancelled=mark.session.is_cancelled,
            held=not mark.session.is_cancelled
            and mark.session.starts_at is not None
            and mark.session.starts_at <= now,
            attendance=mark.attendance.status if mark.attendance else "",
            attendance_label=mark.status_label,
        )
        for mark in record.marks
    ]
    if enrollment.status == Enrollment.Status.WITHDRAWN or figures is None:
        held = sum(1 for s in sessions if s.held)
        attended = sum(1 for s in sessions if s.held and s.attendance in ("present", "late"))
        return TranscriptCourse(enrollment, held, attended, Completion.WITHDRAWN, sessions)
    if figures.held == 0:
        completion = Completion.NOT_YET_HELD
    else:
        completion = Completion.COMPLETED if figures.completed else Completion.NOT_COMPLETED
    return TranscriptCourse(enrollment, figures.held, figures.attended, completion, sessions)


def official_transcript(official_id: int, *, now=None) -> Transcript | None:
    """The transcript of one official, or None if there is no such official. Nine queries whatever
    the number of courses, sessions and series."""
    official = Official.objects.select_related("ministry").filter(pk=official_id).first()
    if official is None:
        return None
    now = now or timezone.now()
    figures = enrolment_figures([official.pk], now=now)
    records = official_enrolments([official.pk]).get(official.pk, [])
    return Transcript(
        official=official,
        courses=[_course(record, figures.get(record.enrollment.pk), now) for record in records],
        series=[TranscriptSeries.of(series) for series in official_series(official.pk, now=now)],
    )


# --- exports -----------------------------------------------------------------------------------


def transcript_csv(transcript: Transcript) -> str:
    """One row per session of each course (a course without sessions: one row of its own)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Official"),
            _("Course"),
            _("Enrolled on"),
            _("Ministry at enrolment"),
            _("Enrolment status"),
            _("Sessions held"),
            _("Sessions attended"),
            _("Completion"),
            _("Series completion"),
            _("Session"),
            _("Starts at"),
            _("Attendance"),
        ]
    )
    name = transcript.official.full_name
    for course in transcript.courses:
        enrollment = course.enrollment
        base = [
            name,
            str(course.course),
            enrollment.enrolled_on.isoformat(),
            enrollment.ministry_name_en,
            enrollment.get_status_display(),
            course.held,
            course.attended,
            course.completion_label,
            series.completion_label if (series := transcript.series_of(course.course.project_id)) else "",
        ]
        for session in course.sessions or [None]:
            if session is None:
                writer.writerow(safe_row([*base, "", "", ""]))
                continue
            when = (
                timezone.localtime(session.starts_at).strftime("%Y-%m-%d %H:%M") if session.starts_at else ""
            )
            status = _("Cancelled") if session.cancelled else session.attendance_label
            writer.writerow(safe_row([*base, session.title, when, status]))
    return out.getvalue()


def transcript_pdf(transcript: Transcript) -> bytes:
    """A4, in English and Khmer side by side whatever the reader's language (as the certificates)."""
    with translation.override("en"):
        return render_pdf(
            "participants/transcript_pdf.html",
            {"transcript": transcript, "generated_at": timezone.localtime()},
        )
