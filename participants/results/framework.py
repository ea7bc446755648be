"""Whose results framework a page shows, with the addresses of its pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from courses.models import Programme, Project, Result
from participants.results import actuals


@dataclass(frozen=True)
class Framework:
    """Whose results framework a page shows: a project's, or the programme's own (its results
    belong to no project: the PCP's outcomes, to which the projects contribute)."""

    programme: Programme
    project: Project | None = None

    @classmethod
    def of(cls, result: Result) -> Framework:
        return cls(result.programme, result.project)

    @property
    def name(self):
        return self.project if self.project is not None else self.programme

    @property
    def progress_url(self) -> str:
        if self.project is not None:
            return reverse("results:progress", args=[self.project.pk])
        return reverse("results:programme_progress", args=[self.programme.pk])

    @property
    def xlsx_url(self) -> str:
        if self.project is not None:
            return reverse("results:progress_xlsx", args=[self.project.pk])
        return reverse("results:programme_progress_xlsx", args=[self.programme.pk])

    @property
    def new_result_url(self) -> str:
        if self.project is not None:
            return reverse("results:result_new", args=[self.project.pk])
        return reverse("results:programme_result_new", args=[self.programme.pk])

    @property
    def file_stem(self) -> str:
        if self.project is not None:
            return f"project-{self.project.pk}"
        return f"programme-{self.programme.pk}"

    def progress(self) -> list[actuals.ResultProgress]:
        return actuals.framework_progress(project=self.project, programme=self.programme)

    def others(self) -> list[Framework]:
        """The other frameworks of the programme, for the page's links: the programme's and each project's."""
        frameworks = [Framework(self.programme)] + [
            Framework(self.programme, project) for project in self.programme.projects.order_by("pk")
        ]
        return [framework for framework in frameworks if framework != self]


def all_frameworks() -> list[Framework]:
    """Every programme's framework and each of its projects', for the reports' links (two queries)."""
    projects = Project.objects.select_related("programme").order_by("programme_id", "pk")
    by_programme: dict[int, list[Project]] = {}
    for project in projects:
        by_programme.setdefault(project.programme_id, []).append(project)
    frameworks = []
    for programme in Programme.objects.order_by("pk"):
        frameworks.append(Framework(programme))
        frameworks += [Framework(programme, project) for project in by_programme.get(programme.pk, [])]
    return frameworks
