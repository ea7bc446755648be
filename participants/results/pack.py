"""The donor report pack: one ZIP for a period with the progress PDF and workbook, the IATI file,
the attendance tables by course and by ministry, and a README of definitions.

Every file is written from the same objects (`framework_progress` rows, the reports' tables), so
the donor reads the same figure in each of them.
"""

from __future__ import annotations

import csv
import io
import zipfile

from django.utils import timezone
from django.utils.translation import gettext as _

from participants.reports import figures as fig
from participants.reports import tables
from participants.reports.exports import render_pdf
from participants.results import actuals, exports, iati
from pcp_portal.spreadsheets import safe_row


def _within(rows: list[actuals.ResultProgress], filters: fig.ReportFilters) -> list[actuals.ResultProgress]:
    """Keep the periods that overlap the pack's period (all of them when none is chosen)."""
    for row in rows:
        for item in row.indicators:
            item.periods = [
                period
                for period in item.periods
                if (filters.date_from is None or period.end >= filters.date_from)
                and (filters.date_to is None or period.start <= filters.date_to)
            ]
    return rows


def _csv(table: tables.Table) -> bytes:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(safe_row(table.headers))
    for row in table.all_rows():
        writer.writerow(safe_row(["" if value is None else value for value in row]))
    return output.getvalue().encode("utf-8-sig")


def progress_pdf(project, rows, filters: fig.ReportFilters, *, now) -> bytes:
    return render_pdf(
        "results/pdf/progress.html",
        {
            "project": project,
            "rows": rows,
            "filters": filters,
            "generated_at": timezone.localtime(now),
            "status_labels": {key: actuals.status_label(key) for key in actuals.STATUSES},
        },
    )


def readme(rows, filters: fig.ReportFilters, iati_missing: list[str]) -> str:
    lines = [
        _("Donor report pack"),
        "",
        _("Period: %(start)s – %(end)s") % {"start": filters.date_from or "…", "end": filters.date_to or "…"},
        "",
        _("How each figure is counted"),
    ]
    lines += [f"- {text}" for text in fig.definitions().values()]
    lines += ["", _("Indicators")]
    lines += [f"- {item.indicator.title_en}: {item.footnote}" for row in rows for item in row.indicators]
    if iati_missing:
        lines += ["", _("The IATI file is not in this pack; missing:")] + [
            f"- {item}" for item in iati_missing
        ]
    return "\n".join(lines) + "\n"


def build_pack(project, filters: fig.ReportFilters, *, now=None) -> bytes:
    now = now or timezone.now()
    rows = _within(actuals.framework_progress(project=project, now=now), filters)
    built = iati.build_iati(project, now=now)
    workbook = io.BytesIO()
    exports.progress_workbook(rows).save(workbook)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("progress.pdf", progress_pdf(project, rows, filters, now=now))
        archive.writestr("progress.xlsx", workbook.getvalue())
        if built.xml is not None:
            archive.writestr("iati-activity.xml", built.xml)
        archive.writestr("attendance-by-course.csv", _csv(tables.programme_table(filters, now=now)))
        archive.writestr("attendance-by-ministry.csv", _csv(tables.ministry_table(filters, now=now)))
        archive.writestr("README.txt", readme(rows, filters, built.missing))
    return output.getvalue()
