"""The preferences page: a person's own choices about how the portal shows things to them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pcp_portal.decorators import reader_required
from pcp_portal.models import UserPreference
from pcp_portal.numerals import SESSION_KEY


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = UserPreference
        fields = ["digits"]
        widgets = {"digits": forms.RadioSelect}
        help_texts = {
            "digits": gettext_lazy("On the portal's pages. Exports (CSV, Excel, PDF) keep Latin digits."),
        }


@reader_required
def preferences(request):
    preference = UserPreference.objects.filter(user=request.user).first() or UserPreference(user=request.user)
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session[SESSION_KEY] = form.instance.digits
        messages.success(request, _("Your preferences are saved."))
        return redirect("preferences")
    return render(request, "registration/preferences.html", {"form": form})
