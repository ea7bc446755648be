"""Log-in with an optional TOTP second factor (django-otp), and the page to turn it on or off.

An account with a confirmed TOTP device must give a current one-time code with its password.
A wrong code counts as a failed log-in for django-axes, and the answer never says whether the
password or the code was wrong.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user, match_token, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "authenticator app"


class LoginForm(AuthenticationForm):
    otp_token = forms.CharField(
        label=gettext_lazy("One-time code (only if two-factor log-in is on)"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        self.otp_device = None
        if user is not None and user_has_device(user):
            token = (cleaned.get("otp_token") or "").strip()
            device = match_token(user, token) if token else None
            if device is None:
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.get_username()}, request=self.request
                )
                self.user_cache = None
                raise self.get_invalid_login_error()
            self.otp_device = device
        return cleaned


class LoginView(auth_views.LoginView):
    form_class = LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.otp_device is not None:
            otp_login(self.request, form.otp_device)
        return response


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\d{6,8}$",
        label=gettext_lazy("Code from the app"),
        error_messages={"invalid": gettext_lazy("Enter the 6-digit code the app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Turn the second factor on (scan the key, confirm one code) or off (with a current code)."""
    user = request.user
    confirmed = list(devices_for_user(user, confirmed=True))
    form = TokenForm(request.POST or None)
    if confirmed:
        if request.method == "POST" and form.is_valid():
            if match_token(user, form.cleaned_data["token"]) is None:
                form.add_error("token", _("This code is not valid; nothing was changed."))
            else:
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, _("Two-factor log-in is now off."))
                return redirect("two_factor")
        return render(request, "registration/two_factor.html", {"enabled": True, "form": form})

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, _("Two-factor log-in is now on: you will need a code at each log-in."))
            return redirect("two_factor")
        form.add_error("token", _("This code is not valid; two-factor log-in stays off."))
    from base64 import b32encode

    return render(
        request,
        "registration/two_factor.html",
        {
            "enabled": False,
            "form": form,
            "secret": b32encode(device.bin_key).decode(),
            "config_url": device.config_url,
        },
    )
