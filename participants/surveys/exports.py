"""An instrument's answers as CSV or XLSX: one row per response, then (XLSX) the response rates.

Every text cell goes through pcp_portal.spreadsheets.safe_cell (no formulas). Names appear only
for staff and only for an identified instrument: the same rule as the results page.
"""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from participants.surveys import selectors
from participants.surveys.models import AnonymousResponse, Instrument, Question, Response
from pcp_portal.spreadsheets import safe_row


def _answer_text(question: Question, value, choices: dict[int, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(choices.get(choice_id, "?") for choice_id in value)
    return str(value)


def response_rows(instrument: Instrument, *, with_names: bool) -> list[list]:
    questions = list(instrument.questions.prefetch_related("choices"))
    choices = {c.pk: c.text_en for q in questions for c in q.choices.all()}
    show_names = with_names and not instrument.is_anonymous
    header = ([_("Official"), _("Sex"), _("Ministry")] if show_names else []) + [_("Score")]
    header += [q.text_en for q in questions]
    rows = [header]
    if instrument.is_anonymous:
        responses = [
            (None, r.answers, r.score) for r in AnonymousResponse.objects.filter(instrument=instrument)
        ]
    else:
        responses = [
            (r.official, r.answers, r.score)
            for r in Response.objects.filter(instrument=instrument)
            .select_related("official", "official__ministry")
            .order_by("official__family_name", "official__given_name", "official_id")
        ]
    for official, answers, score in responses:
        row = (
            [official.full_name, official.get_sex_display(), official.ministry.name_en] if show_names else []
        )
        row.append("" if score is None else score)
        row += [_answer_text(q, answers.get(str(q.pk)), choices) for q in questions]
        rows.append(row)
    return rows


def rate_rows(instrument: Instrument) -> list[list]:
    rates = selectors.response_rates(instrument)
    rows = [[_("Group"), _("Enrolled"), _("Answered"), _("Response rate")]]
    for group, label in (("total", _("All")), ("sex", None), ("ministry", None)):
        for row in rates[group]:
            rows.append([label or row.label, row.eligible, row.answered, row.rate])
    return rows


def as_csv(instrument: Instrument, *, with_names: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in response_rows(instrument, with_names=with_names):
        writer.writerow(safe_row(row))
    # With a BOM, Excel opens the file as UTF-8 and shows Khmer correctly.
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(instrument: Instrument, *, with_names: bool) -> bytes:
    from openpyxl import Workbook  # heavy: loaded only when a spreadsheet is asked for

    workbook = Workbook(write_only=True)
    for title, rows in (
        (_("Responses"), response_rows(instrument, with_names=with_names)),
        (_("Response rate"), rate_rows(instrument)),
    ):
        sheet = workbook.create_sheet(title[:31])
        for row in rows:
            sheet.append(safe_row(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
