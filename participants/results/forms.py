"""Forms for staff editing the results framework. The rules are the models' `clean` (see
courses.models), so a form and a service refuse the same input with the same message."""

from __future__ import annotations

from django import forms

from courses.models import Course, Indicator, IndicatorPeriod, Result


class ResultForm(forms.ModelForm):
    class Meta:
        model = Result
        fields = ["level", "parent", "title_en", "title_km", "description", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only results of the same framework can be a parent; the model refuses loops.
        self.fields["parent"].queryset = Result.objects.filter(
            programme_id=self.instance.programme_id, project_id=self.instance.project_id
        ).exclude(pk=self.instance.pk)


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = [
            "title_en",
            "title_km",
            "measure",
            "ascending",
            "source",
            "definition",
            "course",
            "ministry",
            "baseline_year",
            "baseline_value",
            "baseline_note",
            "position",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every course is offered so that a course of another project gets its message, not a
        # bare "not one of the choices".
        self.fields["course"].queryset = Course.objects.select_related("project")


class IndicatorPeriodForm(forms.ModelForm):
    class Meta:
        model = IndicatorPeriod
        fields = [
            "period_start",
            "period_end",
            "sex",
            "ministry",
            "target_value",
            "actual_value",
            "actual_note",
            "actual_evidence",
        ]
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}),
            "period_end": forms.DateInput(attrs={"type": "date"}),
        }
