"""Forms for courses and sessions: each error next to its field; writes go through services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from courses.models import CalendarFeedToken, Course, Session
from ministries.models import Ministry
from pcp_portal.forms import InLanguageChoiceField, LatinDigitsMixin

# The longest reason for cancelling a course or a session: it goes into each official's notice.
CANCELLATION_REASON_MAX_LENGTH = 1000


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class CourseForm(LatinDigitsMixin, forms.ModelForm):
    class Meta:
        model = Course
        fields = [
            "project",
            "number",
            "title",
            "title_km",
            "topic",
            "venue",
            "start_date",
            "end_date",
            "completion_threshold",
            "description",
            "description_km",
        ]
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "topic": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 3}),
            "description_km": forms.Textarea(attrs={"rows": 3, "lang": "km"}),
            "title_km": forms.TextInput(attrs={"lang": "km"}),
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("A course must end on or after its first day."))
        return cleaned


class SessionForm(LatinDigitsMixin, forms.ModelForm):
    class Meta:
        model = Session
        fields = ["title", "title_km", "topic", "starts_at", "ends_at", "venue", "venue_km", "facilitators"]
        widgets = {
            "title_km": forms.TextInput(attrs={"lang": "km"}),
            "venue_km": forms.TextInput(attrs={"lang": "km"}),
            "starts_at": DateTimeInput(),
            "ends_at": DateTimeInput(),
            "topic": forms.Textarea(attrs={"rows": 3}),
            "facilitators": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if ends and not starts:
            self.add_error("starts_at", _("Give the start before the end."))
        elif starts and ends and ends <= starts:
            self.add_error("ends_at", _("A session must end after it starts."))
        return cleaned


class CourseCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancellation"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=CANCELLATION_REASON_MAX_LENGTH,
        help_text=_("Officials already reminded of a session receive it in their cancellation notice."),
    )


class SessionCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancellation"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=CANCELLATION_REASON_MAX_LENGTH,
    )


class CalendarFilterForm(forms.Form):
    """The calendar's filters, read from the query string; an unknown value is an error shown on
    the page and the calendar is drawn unfiltered."""

    course = InLanguageChoiceField(
        label=_("Course"), queryset=Course.objects.order_by("project", "number"), required=False
    )
    venue = forms.ChoiceField(label=_("Venue"), required=False)

    def __init__(self, *args, venues: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].empty_label = _("All courses")
        self.fields["venue"].choices = [("", _("All venues")), *((venue, venue) for venue in venues)]


class CalendarFeedTokenForm(forms.Form):
    scope = forms.ChoiceField(label=_("Feed"), choices=CalendarFeedToken.Scope.choices)
    course = InLanguageChoiceField(
        label=_("Course"), queryset=Course.objects.order_by("project", "number"), required=False
    )
    ministry = InLanguageChoiceField(
        label=_("Ministry"), queryset=Ministry.objects.order_by("name_en"), required=False
    )
    label = forms.CharField(
        label=_("Label"),
        max_length=CalendarFeedToken._meta.get_field("label").max_length,
        required=False,
        help_text=_("A note for yourself, e.g. the phone or calendar that uses it."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty for a feed that lasts until you revoke it."),
    )

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == CalendarFeedToken.Scope.COURSE and not data.get("course"):
            self.add_error("course", _("Choose the course this feed shows."))
        if scope == CalendarFeedToken.Scope.MINISTRY and not data.get("ministry"):
            self.add_error("ministry", _("Choose the ministry this feed shows."))
        return data


class SeriesRuleForm(LatinDigitsMixin, forms.Form):
    """How many courses complete the series; blank keeps the default (every course held).
    The most a series allows depends on its courses: the service refuses more, with a message."""

    min_courses = forms.IntegerField(
        label=_("Courses to complete"),
        required=False,
        min_value=1,
        max_value=99,
        help_text=_("Blank: every course of the series that has been held."),
        error_messages={
            "invalid": _("Give a whole number of courses, or leave it blank."),
            "min_value": _("At least one course must be required."),
            "max_value": _("A series has far fewer courses than that."),
        },
    )
