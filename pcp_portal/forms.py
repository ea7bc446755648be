"""Showing records that have Khmer fields (courses, series, ministries) in the page's language.

Such a record has `label_in(language)`: its Khmer label in Khmer mode when one is stored, else the
English one. Pages use it through the `in_language` template filter; selects through
`InLanguageChoiceField`. Exports and the API keep English and call `str()` or the English fields.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language


def page_language() -> str:
    return (get_language() or "en").split("-")[0]


def label_in_language(value) -> str:
    """`value.label_in(the page's language)` when the record has one, else `str(value)`."""
    if value is None:
        return ""
    label_in = getattr(value, "label_in", None)
    return str(label_in(page_language())) if callable(label_in) else str(value)


class InLanguageChoiceField(forms.ModelChoiceField):
    """A select whose options are labelled in the language of the page being drawn."""

    def label_from_instance(self, obj) -> str:
        return label_in_language(obj)
