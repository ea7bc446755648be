"""Forms for enrolment, walk-ins and the attendance register."""

from __future__ import annotations

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from courses.models import Course, Project
from ministries.models import Department, Ministry
from participants.models import Attendance, AttendanceStatus, Official, Sex
from participants.series import SeriesState
from participants.services import enrollment_date, ministry_refusal
from pcp_portal.forms import InLanguageChoiceField, LatinDigitsMixin
from pcp_portal.text import SEARCH_MAX_LENGTH


class SearchTextField(forms.CharField):
    """A search box's text: the browser stops at SEARCH_MAX_LENGTH (maxlength), and a longer text
    sent in the address is cut there rather than refused, so it still gets results or none."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs["maxlength"] = str(SEARCH_MAX_LENGTH)

    def to_python(self, value):
        return super().to_python((value or "")[: 4 * SEARCH_MAX_LENGTH])[:SEARCH_MAX_LENGTH].strip()


class OfficialSearchForm(forms.Form):
    q = SearchTextField(
        label=_("Find an official"),
        help_text=_("Name in Latin or Khmer script, ministry or e-mail."),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class EnrolForm(forms.Form):
    official = forms.ModelChoiceField(
        label=_("Official"),
        queryset=Official.objects.all(),
        error_messages={"invalid_choice": _("This official does not exist.")},
    )


class MinistryOnDateField(InLanguageChoiceField):
    """Offers the ministries of `queryset`, but looks a posted id up among all of them, so that a
    forged choice of a dissolved ministry is told why (by the form) rather than "not a choice"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return Ministry.objects.get(pk=value)
        except (ValueError, TypeError, Ministry.DoesNotExist):
            message = self.error_messages["invalid_choice"]
            raise forms.ValidationError(message, code="invalid_choice") from None


class WalkInForm(LatinDigitsMixin, forms.ModelForm):
    """A new official, created and enrolled from the course page.

    A name in either script will do (Official.clean says so beside the family name). The ministry
    list holds only the bodies that existed on the enrolment's date (services.enrollment_date):
    a walk-in of a 2020 course cannot be from a ministry dissolved in 2013.
    """

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
        field_classes = {"ministry": MinistryOnDateField}

    def __init__(self, *args, course=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enrolled_on = enrollment_date(course) if course is not None else None
        ministries = Ministry.objects.order_by("name_en")
        if self.enrolled_on is not None:
            ministries = ministries.existing_on(self.enrolled_on)
        self.fields["ministry"].queryset = ministries

    def clean_ministry(self):
        ministry = self.cleaned_data["ministry"]
        refusal = ministry_refusal(ministry, self.enrolled_on) if self.enrolled_on else None
        if refusal:
            raise forms.ValidationError(refusal)
        return ministry

    def clean_email(self):
        email = self.cleaned_data.get("email", "")
        if email and Official.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An official with this e-mail already exists: find them with the search above.")
            )
        return email


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason for withdrawal"), max_length=1000, required=False)


class AttendanceRowForm(LatinDigitsMixin, forms.Form):
    """One row of the register, as posted by the page's script."""

    status = forms.ChoiceField(
        label=_("Status"),
        choices=AttendanceStatus.choices,
        error_messages={"invalid_choice": _("“%(value)s” is not an attendance status.")},
    )
    note = forms.CharField(label=_("Note"), max_length=Attendance.NOTE_MAX_LENGTH, required=False)
    version = forms.IntegerField(label=_("Version"), min_value=0)


SERIES_SORTS = [(key, key) for key in ("name", "ministry", "sex", "courses", "series")]


class SeriesFilterForm(forms.Form):
    """The series page's filters and sort, in the address so a view can be shared and exported."""

    ministry = InLanguageChoiceField(
        label=_("Ministry"),
        queryset=Ministry.objects.order_by("name_en"),
        required=False,
        empty_label=_("All ministries"),
        error_messages={"invalid_choice": _("There is no ministry with this id.")},
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        choices=[("", _("Everyone")), *Sex.choices],
        required=False,
        error_messages={"invalid_choice": _("Choose women, men or other / not stated.")},
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        choices=[*SERIES_SORTS, *[(f"-{key}", key) for key, _label in SERIES_SORTS]],
        required=False,
        error_messages={"invalid_choice": _("This list cannot be sorted that way.")},
    )


ORDER_CHOICES = [
    ("name", _("Name (A to Z)")),
    ("-name", _("Name (Z to A)")),
    ("ministry", _("Ministry")),
    ("-enrolments", _("Most enrolments")),
    ("enrolments", _("Fewest enrolments")),
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
]


class OfficialFilterForm(forms.Form):
    """The officials list's filters and order; a bad value is reported, never a 500."""

    ministry = InLanguageChoiceField(
        label=_("Ministry"),
        queryset=Ministry.objects.order_by("name_en"),
        required=False,
        empty_label=_("All ministries"),
        error_messages={"invalid_choice": _("This ministry does not exist.")},
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", _("All")), *Sex.choices], required=False)
    course = InLanguageChoiceField(
        label=_("Course"),
        queryset=Course.objects.select_related("project").order_by("project_id", "number"),
        required=False,
        empty_label=_("All courses"),
        error_messages={"invalid_choice": _("This course does not exist.")},
    )
    series = InLanguageChoiceField(
        label=_("Series"),
        queryset=Project.objects.filter(courses__isnull=False).distinct().order_by("pk"),
        required=False,
        empty_label=_("Any series"),
        error_messages={"invalid_choice": _("This series does not exist.")},
    )
    series_status = forms.ChoiceField(
        label=_("Series status"),
        choices=[("", _("Any status")), *SeriesState.choices],
        required=False,
        error_messages={"invalid_choice": _("Choose a series status from the list.")},
    )
    order = forms.ChoiceField(label=_("Sort by"), choices=ORDER_CHOICES, required=False)

    def clean(self):
        data = super().clean()
        if data.get("series_status") and not data.get("series"):
            # The programme has one series: a status alone means that one.
            only = list(self.fields["series"].queryset[:2])
            if len(only) == 1:
                data["series"] = only[0]
            else:
                self.add_error("series", _("Choose the series whose status to filter by."))
        return data


class OfficialEditForm(LatinDigitsMixin, forms.ModelForm):
    """An official's own fields; the enrolments keep the ministry and position they were made with."""

    class Meta:
        model = Official
        fields = [
            "family_name",
            "given_name",
            "name_km",
            "sex",
            "ministry",
            "department",
            "position",
            "email",
            "phone",
            "preferred_language",
        ]
        field_classes = {"ministry": InLanguageChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ministry"].queryset = Ministry.objects.order_by("name_en")
        self.fields["department"].queryset = Department.objects.select_related("ministry").order_by(
            "ministry__name_en", "name_en"
        )


class MergePickForm(LatinDigitsMixin, forms.Form):
    """The two records to compare: the survivor and the one merged into it, by id."""

    survivor = forms.IntegerField(label=_("Official who stays"), min_value=1, max_value=2**63 - 1)
    other = forms.IntegerField(label=_("Official merged into them"), min_value=1, max_value=2**63 - 1)


class MergeForm(forms.Form):
    """Whose value the survivor keeps for each differing field, and which enrolment stays in each
    course both are enrolled in (no default there: the person must choose)."""

    def __init__(self, *args, comparison, **kwargs):
        super().__init__(*args, **kwargs)
        self.comparison = comparison
        for name, label, survivor_value, other_value in comparison.fields:
            self.fields[f"field_{name}"] = forms.ChoiceField(
                label=label,
                choices=[("survivor", _display(survivor_value)), ("other", _display(other_value))],
                initial="other" if survivor_value == "" else "survivor",
                widget=forms.RadioSelect,
                # Not sent: the survivor's value stays (the page always sends one of the two).
                required=False,
            )
        for conflict in comparison.conflicts:
            self.fields[conflict.field_name] = forms.TypedChoiceField(
                label=str(conflict.course),
                coerce=int,
                choices=[
                    (enrollment.pk, _enrolment_choice(enrollment, official))
                    for enrollment, official in (
                        (conflict.survivor_enrollment, comparison.survivor),
                        (conflict.other_enrollment, comparison.other),
                    )
                ],
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose which enrolment stays in this course.")},
            )

    def choices(self) -> dict[str, str]:
        return {
            name.removeprefix("field_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("field_") and value
        }

    def keep(self) -> dict[int, int]:
        return {
            conflict.course.pk: self.cleaned_data[conflict.field_name]
            for conflict in self.comparison.conflicts
        }


def _enrolment_choice(enrollment, official) -> str:
    return _("The enrolment of %(official)s (#%(id)s), %(status)s, enrolled on %(date)s") % {
        "official": official,
        "id": official.pk,
        "status": enrollment.get_status_display(),
        "date": date_format(enrollment.enrolled_on),
    }


def _display(value: str) -> str:
    return value or str(_("(empty)"))
