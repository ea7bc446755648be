"""The results framework's pages: progress (officers read), editing (staff), and the XLSX export."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Indicator, IndicatorPeriod, Programme, Project, Result
from courses.services import framework_save
from participants.reports import charts
from participants.reports.forms import ReportFilterForm, error_messages
from participants.results import actuals, exports, iati, pack
from participants.results.forms import IndicatorForm, IndicatorPeriodForm, ResultForm
from participants.results.framework import Framework
from pcp_portal import roles
from pcp_portal.decorators import editor_required, reader_required


def _progress_page(request, framework: Framework):
    rows = framework.progress()
    charts = {item.indicator.pk: _chart(item) for row in rows for item in row.indicators if item.periods}
    for row in rows:
        for item in row.indicators:
            item.chart = charts.get(item.indicator.pk)
    return render(
        request,
        "results/progress.html",
        {
            "framework": framework,
            "project": framework.project,
            "rows": rows,
            "can_edit": roles.can_edit(request.user),
            "status_labels": {key: actuals.status_label(key) for key in actuals.STATUSES},
        },
    )


@reader_required
def progress(request, pk: int):
    project = get_object_or_404(Project.objects.select_related("programme"), pk=pk)
    return _progress_page(request, Framework(project.programme, project))


@reader_required
def programme_progress(request, pk: int):
    return _progress_page(request, Framework(get_object_or_404(Programme, pk=pk)))


def _chart(item: actuals.IndicatorProgress):
    """Target beside actual for each period, drawn by the reports' own bar chart."""
    bars = []
    for period in item.periods:
        label = f"{period.start:%Y-%m} – {period.end:%Y-%m}"
        for name, value in ((_("Target"), period.target.total), (_("Actual"), period.actual.total)):
            bars.append((f"{label} {name}", None if value is None else float(value)))
    title = _("%(indicator)s: target and actual") % {"indicator": item.indicator.title_en}
    return charts.bar_chart(
        f"indicator-{item.indicator.pk}", title, item.indicator.get_measure_display(), bars
    )


@reader_required
def progress_xlsx(request, pk: int):
    project = get_object_or_404(Project.objects.select_related("programme"), pk=pk)
    framework = Framework(project.programme, project)
    return exports.progress_xlsx_response(framework.file_stem, framework.progress())


@reader_required
def programme_progress_xlsx(request, pk: int):
    framework = Framework(get_object_or_404(Programme, pk=pk))
    return exports.progress_xlsx_response(framework.file_stem, framework.progress())


def _edit(request, form_class, instance, *, title: str, framework: Framework):
    form = form_class(request.POST or None, request.FILES or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                framework_save(instance=form.instance, changed_by=request.user)
        except ValidationError as error:
            # Rules the form could not see (the unique period needs the indicator, not a field).
            for name, texts in error.message_dict.items():
                form.add_error(name if name in form.fields else None, texts)
        except IntegrityError:
            form.add_error(None, _("This target period already exists for this indicator, sex and ministry."))
        else:
            return redirect(framework.progress_url)
    status = 400 if request.method == "POST" else 200
    history = (
        instance.history.select_related("history_user").order_by("-history_date")[:10] if instance.pk else []
    )
    return render(
        request,
        "results/form.html",
        {"form": form, "title": title, "framework": framework, "history": history},
        status=status,
    )


@editor_required
def result_new(request, pk: int):
    project = get_object_or_404(Project.objects.select_related("programme"), pk=pk)
    instance = Result(programme_id=project.programme_id, project=project)
    return _edit(
        request, ResultForm, instance, title=_("New result"), framework=Framework(project.programme, project)
    )


@editor_required
def programme_result_new(request, pk: int):
    programme = get_object_or_404(Programme, pk=pk)
    instance = Result(programme=programme, project=None)
    return _edit(request, ResultForm, instance, title=_("New result"), framework=Framework(programme))


_RESULT = ("programme", "project")


@editor_required
def result_edit(request, pk: int):
    result = get_object_or_404(Result.objects.select_related(*_RESULT), pk=pk)
    return _edit(request, ResultForm, result, title=_("Edit result"), framework=Framework.of(result))


@editor_required
def indicator_new(request, pk: int):
    result = get_object_or_404(Result.objects.select_related(*_RESULT), pk=pk)
    return _edit(
        request,
        IndicatorForm,
        Indicator(result=result),
        title=_("New indicator"),
        framework=Framework.of(result),
    )


@editor_required
def indicator_edit(request, pk: int):
    indicator = get_object_or_404(
        Indicator.objects.select_related("result__programme", "result__project"), pk=pk
    )
    return _edit(
        request, IndicatorForm, indicator, title=_("Edit indicator"), framework=Framework.of(indicator.result)
    )


@editor_required
def period_new(request, pk: int):
    indicator = get_object_or_404(
        Indicator.objects.select_related("result__programme", "result__project"), pk=pk
    )
    instance = IndicatorPeriod(indicator=indicator)
    return _edit(
        request,
        IndicatorPeriodForm,
        instance,
        title=_("New target period"),
        framework=Framework.of(indicator.result),
    )


@editor_required
def period_edit(request, pk: int):
    period = get_object_or_404(
        IndicatorPeriod.objects.select_related("indicator__result__programme", "indicator__result__project"),
        pk=pk,
    )
    return _edit(
        request,
        IndicatorPeriodForm,
        period,
        title=_("Edit target period"),
        framework=Framework.of(period.indicator.result),
    )


def _export_project(request) -> Project | None:
    """The project named by ?project=, else the only (first) project: the portal tracks one."""
    raw = request.GET.get("project", "")
    queryset = Project.objects.order_by("pk")
    if raw:
        return queryset.filter(pk=int(raw)).first() if raw.isdigit() else None
    return queryset.first()


@reader_required
def iati_xml(request):
    project = _export_project(request)
    if project is None:
        missing = [_("A project: none matches the address.")]
    else:
        built = iati.build_iati(project)
        if built.xml is not None:
            response = HttpResponse(built.xml, content_type="application/xml; charset=utf-8")
            name = f"iati-activity-project-{project.pk}-{timezone.localdate().isoformat()}.xml"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        missing = built.missing
    # Never an invalid file: the officer learns what to fill in instead.
    return render(request, "results/iati_missing.html", {"project": project, "missing": missing}, status=409)


@reader_required
def pack_zip(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    form = ReportFilterForm(request.GET or {})
    if not form.is_valid():
        return render(
            request,
            "results/iati_missing.html",
            {"project": project, "missing": error_messages(form), "title": _("Donor report pack")},
            status=400,
        )
    filters = form.filters()
    response = HttpResponse(pack.build_pack(project, filters), content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="donor-pack-project-{project.pk}-{stamp}.zip"'
    return response
