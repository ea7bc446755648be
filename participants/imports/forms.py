"""The upload form: the file, and the course or session it is for."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from courses.models import Course, Session
from pcp_portal.forms import InLanguageChoiceField, label_in_language


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, session):
        return f"{session.course.number}. {label_in_language(session)}"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or Excel .xlsx)"),
        help_text=_("CSV in UTF-8 (comma or semicolon) or .xlsx; the first sheet is read."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if kind == "enrolments":
            self.fields["course"] = InLanguageChoiceField(
                label=_("Course"), queryset=Course.objects.select_related("project")
            )
        elif kind in ("attendance", "signin"):
            self.fields["session"] = SessionChoiceField(
                label=_("Session"),
                queryset=Session.objects.filter(status=Session.Status.SCHEDULED).select_related("course"),
            )
        self.order_fields(["course", "session", "file"])
