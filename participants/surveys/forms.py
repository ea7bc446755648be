"""Staff forms for building an instrument: its settings, and a question with its options."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from courses.models import Session
from participants.surveys.models import Instrument, Question

OPTION_ROWS = 6


class InstrumentForm(forms.ModelForm):
    class Meta:
        model = Instrument
        fields = [
            "kind",
            "title_en",
            "title_km",
            "session",
            "pre_test",
            "follow_up_months",
            "is_anonymous",
            "closes_at",
        ]
        widgets = {
            "title_km": forms.TextInput(attrs={"lang": "km"}),
            "closes_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = Session.objects.filter(course=course).order_by("starts_at", "id")
        self.fields["pre_test"].queryset = Instrument.objects.filter(
            course=course, kind=Instrument.Kind.PRE_TEST
        )


class QuestionForm(forms.Form):
    """A question, English and Khmer side by side, and up to OPTION_ROWS options for a choice question."""

    type = forms.ChoiceField(label=_("type"), choices=Question.Type.choices)
    text_en = forms.CharField(label=_("question (English)"), max_length=500)
    text_km = forms.CharField(
        label=_("question (Khmer)"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"lang": "km"}),
    )
    points = forms.IntegerField(label=_("points"), min_value=0, max_value=100, initial=0, required=False)
    required = forms.BooleanField(label=_("required"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, OPTION_ROWS + 1):
            self.fields[f"option_{n}_en"] = forms.CharField(
                label=_("option %(n)d (English)") % {"n": n}, max_length=300, required=False
            )
            self.fields[f"option_{n}_km"] = forms.CharField(
                label=_("option %(n)d (Khmer)") % {"n": n},
                max_length=300,
                required=False,
                widget=forms.TextInput(attrs={"lang": "km"}),
            )
            self.fields[f"option_{n}_correct"] = forms.BooleanField(
                label=_("option %(n)d is correct") % {"n": n}, required=False
            )

    def option_rows(self):
        """(English field, Khmer field, correct field) per row, for the side-by-side table."""
        return [
            (self[f"option_{n}_en"], self[f"option_{n}_km"], self[f"option_{n}_correct"])
            for n in range(1, OPTION_ROWS + 1)
        ]

    def clean(self):
        data = super().clean()
        choices = []
        for n in range(1, OPTION_ROWS + 1):
            en = (data.get(f"option_{n}_en") or "").strip()
            km = (data.get(f"option_{n}_km") or "").strip()
            correct = bool(data.get(f"option_{n}_correct"))
            if not en and (km or correct):
                self.add_error(f"option_{n}_en", _("Give the option in English too."))
            if en:
                choices.append((en, km, correct))
        data["choices"] = choices
        data["points"] = data.get("points") or 0
        return data
