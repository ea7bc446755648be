"""Public pages (no log-in): the programme, the project and each course, with aggregate figures only.

Nothing personal is ever read here: the figures are the reports' counts (officials trained by
sex and ministry), and the facts are the public record's, each with its source links. The counts
are cached for a few minutes so the pages can face the internet without each visit querying
the attendance.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from courses.models import Course, Programme, Project
from ministries.models import Ministry
from participants.reports import figures as fig

CACHE_KEY = "public-figures-v1"
CACHE_SECONDS = 300
LICENCE = (
    "Creative Commons Attribution 4.0 International (CC BY 4.0), https://creativecommons.org/licenses/by/4.0/"
)


def public_counts() -> list[dict]:
    """Officials trained per course, ministry and sex: [{course, ministry, women, men, other, total}]."""

    def compute() -> list[dict]:
        groups = fig.report_figures(fig.ReportFilters(), ("course_ministry",)).groups["course_ministry"]
        return [
            {
                "course_id": course_id,
                "ministry_id": ministry_id,
                "women": figures.trained.women,
                "men": figures.trained.men,
                "other": figures.trained.other,
                "total": figures.trained.total,
            }
            for (course_id, ministry_id), figures in groups.items()
            if figures.trained.total
        ]

    return cache.get_or_set(CACHE_KEY, compute, CACHE_SECONDS)


@dataclass
class CourseCounts:
    women: int = 0
    men: int = 0
    other: int = 0
    by_ministry: list | None = None

    @property
    def total(self) -> int:
        return self.women + self.men + self.other


def course_counts(course_ids) -> dict[int, CourseCounts]:
    counts = [row for row in public_counts() if row["course_id"] in set(course_ids)]
    ministries = Ministry.objects.in_bulk({row["ministry_id"] for row in counts})
    result: dict[int, CourseCounts] = {}
    for row in counts:
        entry = result.setdefault(row["course_id"], CourseCounts(by_ministry=[]))
        entry.women += row["women"]
        entry.men += row["men"]
        entry.other += row["other"]
        entry.by_ministry.append((ministries.get(row["ministry_id"]), row))
    for entry in result.values():
        entry.by_ministry.sort(key=lambda item: item[0].name_en if item[0] else "")
    return result


def _fact(obj, name: str, value=None) -> dict:
    """A fact with its source links from the public record."""
    return {
        "value": getattr(obj, name) if value is None else value,
        "sources": list((obj.sources or {}).get(name, [])),
    }


def on_public_record(course: Course) -> bool:
    return bool(course.sources)


@require_GET
def programme_page(request):
    programme = Programme.objects.order_by("pk").first()
    if programme is None:
        raise Http404
    projects = list(Project.objects.filter(programme=programme).order_by("pk"))
    courses = list(Course.objects.filter(project__in=projects).order_by("project", "number"))
    counts = course_counts([course.pk for course in courses])
    context = {
        "programme": programme,
        "facts": [
            (_("Name"), _fact(programme, "name")),
            (_("Country"), _fact(programme, "country")),
            (_("Period"), _fact(programme, "period", programme.period)),
            (_("Joint declaration signed on"), _fact(programme, "joint_declaration_date")),
            (_("Description"), _fact(programme, "description")),
        ],
        "projects": projects,
        "courses": [(course, counts.get(course.pk), on_public_record(course)) for course in courses],
    }
    return render(request, "public/programme.html", context)


@require_GET
def project_page(request, pk: int):
    project = get_object_or_404(Project.objects.select_related("programme"), pk=pk)
    courses = list(project.courses.order_by("number"))
    counts = course_counts([course.pk for course in courses])
    context = {
        "project": project,
        "facts": [
            (_("Title"), _fact(project, "title")),
            (_("Implementing agency"), _fact(project, "implementing_agency")),
            (_("National partner"), _fact(project, "national_partner")),
            (_("Donor"), _fact(project, "donor")),
            (_("Partners"), _fact(project, "partners", ", ".join(project.partners or []))),
            (_("Description"), _fact(project, "description")),
        ],
        "courses": [(course, counts.get(course.pk), on_public_record(course)) for course in courses],
    }
    return render(request, "public/project.html", context)


@require_GET
def course_page(request, pk: int):
    course = get_object_or_404(Course.objects.select_related("project"), pk=pk)
    context = {
        "course": course,
        "on_record": on_public_record(course),
        "facts": [
            (_("Title"), _fact(course, "title")),
            (_("Dates"), _fact(course, "start_date", _dates(course))),
            (_("Topics"), _fact(course, "topic")),
            (_("Venue"), _fact(course, "venue")),
            (_("Partners"), _fact(course, "partners", ", ".join(course.partners or []))),
        ],
        "counts": course_counts([course.pk]).get(course.pk),
    }
    return render(request, "public/course.html", context)


def _dates(course: Course) -> str:
    if not course.start_date:
        return ""
    if course.end_date and course.end_date != course.start_date:
        return f"{course.start_date.isoformat()} – {course.end_date.isoformat()}"
    return course.start_date.isoformat()


def open_data_rows() -> list[dict]:
    courses = Course.objects.in_bulk({row["course_id"] for row in public_counts()})
    ministries = Ministry.objects.in_bulk({row["ministry_id"] for row in public_counts()})
    rows = []
    for row in public_counts():
        course, ministry = courses.get(row["course_id"]), ministries.get(row["ministry_id"])
        rows.append(
            {
                "course_number": course.number if course else None,
                "course_title": course.title if course else "",
                "ministry": ministry.name_en if ministry else "",
                "ministry_acronym": ministry.acronym if ministry else "",
                "officials_trained_women": row["women"],
                "officials_trained_men": row["men"],
                "officials_trained_other_or_not_stated": row["other"],
                "officials_trained_total": row["total"],
            }
        )
    rows.sort(key=lambda item: (item["course_number"] or 0, item["ministry"]))
    return rows


DEFINITION = "Officials trained: distinct officials who attended at least one held session of the course."


@require_GET
def open_data(request, fmt: str):
    rows = open_data_rows()
    stamp = timezone.localdate().isoformat()
    if fmt == "json":
        body = json.dumps(
            {"licence": LICENCE, "definition": DEFINITION, "generated": stamp, "figures": rows},
            ensure_ascii=False,
            indent=2,
        )
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    elif fmt == "csv":
        output = io.StringIO()
        output.write(f"# Licence: {LICENCE}\n# {DEFINITION}\n")
        writer = csv.DictWriter(output, fieldnames=list(rows[0]) if rows else ["course_number"])
        writer.writeheader()
        writer.writerows(rows)
        response = HttpResponse(output.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="pcp-officials-trained-{stamp}.{fmt}"'
    return response
