"""The progress workbook: one sheet per level of the framework, the ministries' lines when the
framework sets ministries targets, and a sheet of definitions.

It is written from the same `framework_progress` rows as the page, so the two cannot differ.
"""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from courses.models import Result
from participants.results import actuals
from pcp_portal.spreadsheets import safe_cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def progress_columns() -> list[str]:
    return [
        _("Result"),
        _("Indicator"),
        _("Measure"),
        _("Baseline year"),
        _("Baseline"),
        _("Period start"),
        _("Period end"),
        _("Target"),
        _("Actual"),
        _("Percent of target"),
        _("Status"),
        _("Target, women"),
        _("Actual, women"),
        _("Target, men"),
        _("Actual, men"),
    ]


def progress_rows(rows: list[actuals.ResultProgress], level: int):
    for row in rows:
        if row.result.level != level:
            continue
        for item in row.indicators:
            indicator = item.indicator
            for period in item.periods:
                yield [
                    row.result.title_en,
                    indicator.title_en,
                    indicator.get_measure_display(),
                    indicator.baseline_year,
                    indicator.baseline_value,
                    period.start,
                    period.end,
                    period.target.total,
                    period.actual.total,
                    period.percent_of_target,
                    actuals.status_label(period.status),
                    period.target.women,
                    period.actual.women,
                    period.target.men,
                    period.actual.men,
                ]


def ministry_columns() -> list[str]:
    return [
        _("Result"),
        _("Indicator"),
        _("Period start"),
        _("Period end"),
        _("Ministry"),
        _("Target"),
        _("Actual"),
        _("Percent of target"),
        _("Actual, women"),
        _("Actual, men"),
    ]


def ministry_rows(rows: list[actuals.ResultProgress]):
    """The page's ministry lines: each period of each indicator that sets a ministry a target."""
    for row in rows:
        for item in row.indicators:
            for period in item.periods:
                for line in period.ministries:
                    yield [
                        row.result.title_en,
                        item.indicator.title_en,
                        period.start,
                        period.end,
                        line.ministry.name_en,
                        line.target,
                        line.actual.total,
                        line.percent_of_target,
                        line.actual.women,
                        line.actual.men,
                    ]


def progress_workbook(rows: list[actuals.ResultProgress]) -> Workbook:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for level in (Result.Level.IMPACT, Result.Level.OUTCOME, Result.Level.OUTPUT):
        sheet = workbook.create_sheet(title=str(level.label)[:31])
        sheet.append(progress_columns())
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "C2"
        for values in progress_rows(rows, level):
            sheet.append([safe_cell(value) if isinstance(value, str) else value for value in values])
            for cell in sheet[sheet.max_row]:
                if cell.column in (6, 7):
                    cell.number_format = "yyyy-mm-dd"
    by_ministry = list(ministry_rows(rows))
    if by_ministry:  # only a framework that sets ministries targets has this sheet
        sheet = workbook.create_sheet(title=str(_("By ministry"))[:31])
        sheet.append(ministry_columns())
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "C2"
        for values in by_ministry:
            sheet.append([safe_cell(value) if isinstance(value, str) else value for value in values])
            for cell in sheet[sheet.max_row]:
                if cell.column in (3, 4):
                    cell.number_format = "yyyy-mm-dd"
    sheet = workbook.create_sheet(title=str(_("Definitions"))[:31])
    sheet.append([_("Indicator"), _("How it is computed")])
    for cell in sheet[1]:
        cell.font = bold
    for row in rows:
        for item in row.indicators:
            sheet.append([safe_cell(item.indicator.title_en), safe_cell(item.footnote)])
    return workbook


def progress_xlsx_response(stem: str, rows) -> FileResponse:
    """The workbook as a download named after its framework (`project-3`, `programme-1`)."""
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    progress_workbook(rows).save(output)
    output.seek(0)
    name = f"results-progress-{stem}-{timezone.localdate().isoformat()}.xlsx"
    return FileResponse(output, as_attachment=True, filename=name, content_type=XLSX)
