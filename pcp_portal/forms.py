"""Showing records that have Khmer fields (courses, series, ministries) in the page's language.

Such a record has `label_in(language)`: its Khmer label in Khmer mode when one is stored, else the
English one. Pages use it through the `in_language` template filter; selects through
`InLanguageChoiceField`; report exports through the report tables, so an export made in Khmer mode
names things in Khmer. The API gives both fields and `str()` stays English (logs, audit).

`LatinDigitsMixin` lets forms take numbers, dates and phone numbers typed with Khmer digits.
"""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from pcp_portal.text import latin_digits


def page_language() -> str:
    return (get_language() or "en").split("-")[0]


def label_in_language(value) -> str:
    """`value.label_in(the page's language)` when the record has one, else `str(value)`."""
    if value is None:
        return ""
    label_in = getattr(value, "label_in", None)
    return str(label_in(page_language())) if callable(label_in) else str(value)


class PlainSelect(forms.Select):
    """A select drawn in one pass of Python: the same HTML as Django's (the attributes the bound
    field gives, `selected` on the chosen value), without a template rendered per option, which
    made a list of every course cost more than the rest of a report page as the courses grew."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                ("" if key is None else key, mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(attrs), options)


class _LabelColumnsIterator(forms.models.ModelChoiceIterator):
    """The options read with only the columns their labels need (`label_fields`), when given."""

    def __init__(self, field):
        super().__init__(field)
        if field.label_fields:
            self.queryset = self.queryset.only(*field.label_fields)


class InLanguageChoiceField(forms.ModelChoiceField):
    """A select whose options are labelled in the language of the page being drawn.

    `label_fields` names the columns the label reads: the options are then built from those alone
    (a list of every course need not carry every course's descriptions), while the chosen record
    is still read whole."""

    widget = PlainSelect
    iterator = _LabelColumnsIterator

    def __init__(self, *args, label_fields: tuple[str, ...] = (), **kwargs):
        self.label_fields = label_fields
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return label_in_language(obj)


# Fields whose text is digits: a Khmer keyboard types ០-៩ in them, which Django's parsers refuse.
DIGIT_FIELDS = (forms.IntegerField, forms.FloatField, forms.DateField, forms.DateTimeField, forms.TimeField)


class LatinDigitsMixin:
    """Khmer digits typed in a number, date or time field, or in a field named in
    `latin_digit_fields` (phone numbers), are read as the Latin digits they are, before the fields
    are cleaned: "០១២ ៣៤៥ ៦៧៨" is stored as "012 345 678" and "២០" counts as 20."""

    latin_digit_fields: tuple[str, ...] = ("phone",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            return
        names = [
            self.add_prefix(name)
            for name, field in self.fields.items()
            if isinstance(field, DIGIT_FIELDS) or name in self.latin_digit_fields
        ]
        if not any(
            latin_digits(str(value)) != str(value) for name in names for value in _values(self.data, name)
        ):
            return
        data = self.data.copy()
        for name in names:
            if hasattr(data, "setlist"):
                data.setlist(name, [_latin(value) for value in data.getlist(name)])
            elif name in data:
                data[name] = _latin(data[name])
        self.data = data


def _values(data, name: str) -> list:
    if hasattr(data, "getlist"):
        return data.getlist(name)
    return [data[name]] if name in data else []


def _latin(value):
    return latin_digits(value) if isinstance(value, str) else value
