"""The check-in page's forms: the search for one's name, and the walk-in's note."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ministries.models import Ministry
from pcp_portal.forms import InLanguageChoiceField
from pcp_portal.text import SEARCH_MAX_LENGTH


class WalkInRequestForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    ministry = InLanguageChoiceField(label=_("Your ministry"), queryset=Ministry.objects.none())
    phone = forms.CharField(
        label=_("Your phone number"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args, session, **kwargs):
        super().__init__(*args, **kwargs)
        day = timezone.localdate(session.starts_at) if session.starts_at else timezone.localdate()
        self.fields["ministry"].queryset = Ministry.objects.existing_on(day).order_by("name_en")
        self.fields["name"].widget.attrs["autocomplete"] = "name"


SEARCH_FIELD_ATTRS = {"maxlength": SEARCH_MAX_LENGTH, "autocomplete": "off", "autocapitalize": "off"}
