"""Files the imports hand out: the blank templates (English or Khmer headers) and the error report.

Every text cell goes through pcp_portal.spreadsheets.safe_cell, so a value an official typed
as =HYPERLINK(...) comes back out as text, never as a formula.
"""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from participants.imports.columns import SPECS
from participants.imports.plan import plan_chunks
from pcp_portal.spreadsheets import safe_row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def template_headers(kind: str, language: str) -> list[str]:
    spec = SPECS[kind]
    return [column.label_km if language == "km" else column.label_en for column in spec.columns]


def csv_bytes(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(safe_row(row))
    # With a BOM, Excel opens the file as UTF-8 and shows Khmer correctly.
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(sheets: list[tuple[str, list[list]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(safe_row(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_file(kind: str, language: str, file_format: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the blank template for one import."""
    headers = template_headers(kind, language)
    name = f"pcp-import-{kind}-{language}.{file_format}"
    if file_format == "csv":
        return csv_bytes([headers]), CSV, name
    spec = SPECS[kind]
    help_rows = [[_("Column"), _("Column (Khmer)"), _("Example")]] + [
        [column.label_en, column.label_km, column.example] for column in spec.columns
    ]
    return xlsx_bytes([(_("Import"), [headers]), (_("Help"), help_rows)]), XLSX, name


def error_report(batch) -> bytes:
    """The rows in error (and to decide) of a batch as CSV, with their line and reason."""
    spec = SPECS[batch.kind]
    keys = [column.key for column in spec.columns]
    rows = [[_("Line"), _("Action"), _("Reason"), *[column.label_en for column in spec.columns]]]
    for chunk in plan_chunks(batch.pk, actions=("error", "decide")):
        for _index, row in chunk:
            rows.append(
                [row["line"], row["action"], row["reason"], *[row["values"].get(k, "") for k in keys]]
            )
    return csv_bytes(rows)
