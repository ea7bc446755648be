"""Forms for enrolment, walk-ins and the attendance register."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from participants.models import AttendanceStatus, Official


class OfficialSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find an official"),
        help_text=_("Name in Latin or Khmer script, ministry or e-mail."),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class EnrolForm(forms.Form):
    official = forms.ModelChoiceField(
        label=_("Official"),
        queryset=Official.objects.all(),
        error_messages={"invalid_choice": _("This official does not exist.")},
    )


class WalkInForm(forms.ModelForm):
    """A new official, created and enrolled from the course page."""

    class Meta:
        model = Official
        fields = [
            "family_name",
            "given_name",
            "name_km",
            "sex",
            "ministry",
            "position",
            "email",
            "phone",
            "preferred_language",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ministry"].queryset = self.fields["ministry"].queryset.order_by("name_en")

    def clean_email(self):
        email = self.cleaned_data.get("email", "")
        if email and Official.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An official with this e-mail already exists: find them with the search above.")
            )
        return email

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("family_name", "given_name", "name_km")):
            self.add_error("family_name", _("Give a name in Latin or Khmer script."))
        return cleaned


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason for withdrawal"), max_length=1000, required=False)


class AttendanceRowForm(forms.Form):
    """One row of the register, as posted by the page's script."""

    status = forms.ChoiceField(
        label=_("Status"),
        choices=AttendanceStatus.choices,
        error_messages={"invalid_choice": _("“%(value)s” is not an attendance status.")},
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = forms.IntegerField(label=_("Version"), min_value=0)
