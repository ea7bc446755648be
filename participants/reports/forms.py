"""The report filters (course, ministry, date range), shared by the pages, the exports and the API."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from courses.models import Course
from ministries.models import Ministry
from participants.reports.figures import ReportFilters
from pcp_portal.forms import InLanguageChoiceField, LatinDigitsMixin


class ReportFilterForm(LatinDigitsMixin, forms.Form):
    course = InLanguageChoiceField(
        label=_("Course"),
        queryset=Course.objects.order_by("project_id", "number"),
        label_fields=("number", "title", "title_km"),  # what Course.label_in reads
        required=False,
        empty_label=_("All courses"),
        error_messages={"invalid_choice": _("There is no course with this id.")},
    )
    ministry = InLanguageChoiceField(
        label=_("Ministry"),
        queryset=Ministry.objects.order_by("name_en"),
        required=False,
        empty_label=_("All ministries"),
        error_messages={"invalid_choice": _("There is no ministry with this id.")},
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Give the first day as YYYY-MM-DD.")},
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Give the last day as YYYY-MM-DD.")},
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError(
                _("The date range ends (%(end)s) before it starts (%(start)s)."),
                params={"start": start.isoformat(), "end": end.isoformat()},
                code="date_order",
            )
        return cleaned

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            course_id=data["course"].pk if data.get("course") else None,
            ministry_id=data["ministry"].pk if data.get("ministry") else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def error_messages(form: forms.Form) -> list[str]:
    """Every error of the form as one flat list of sentences, each naming its field."""
    messages = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for error in errors:
            messages.append(f"{label}: {error}" if label else str(error))
    return messages
