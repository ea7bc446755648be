"""Marking text in the other script with its language, so a screen reader reads it with the right voice.

The portal mixes Khmer and Latin script: Khmer names on English pages, English titles and Latin
names on Khmer pages. `{{ value|by_script }}` escapes the text and wraps each run in the script
that is not the page's language in `<span lang="km">` or `<span lang="en">`; a run in the page's
own script is left as it is.

`{{ course|in_language }}` and `{{ course|title_in_language }}` show a record that has Khmer fields
(a course, a series, a session, the programme, a ministry: see pcp_portal.forms) in the page's
language, English as fallback; `venue_in_language`, `description_in_language` and
`short_name_in_language` do the same for those fields.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeData, mark_safe

from pcp_portal.forms import label_in_language, page_language

register = template.Library()

# Khmer (U+1780-17FF) and Khmer Symbols (U+19E0-19FF); a run continues across the spaces and
# zero-width spaces between Khmer words.
KHMER = "\u1780-\u17ff\u19e0-\u19ff"
KHMER_RUN = re.compile(f"[{KHMER}]+(?:[\\s\u200b]+[{KHMER}]+)*")
# A Latin run: from a letter to a letter or digit, across spaces and the punctuation inside names
# and titles ("SOK Dara", "Course 3: Standards and Quality Infrastructure").
LATIN_RUN = re.compile(
    r"[A-Za-z\u00c0-\u024f](?:[A-Za-z\u00c0-\u024f0-9\s.,:;'’()&/\-]*[A-Za-z\u00c0-\u024f0-9.)])?"
)


@register.filter
def in_language(value) -> str:
    return label_in_language(value)


@register.filter
def title_in_language(value) -> str:
    title_in = getattr(value, "title_in", None)
    if callable(title_in):
        return title_in(page_language())
    return "" if value is None else str(value)


def _in_page_language(value, method: str, fallback: str = "") -> str:
    """`value.<method>(the page's language)` when the record has it, else `value.<fallback>`."""
    if value is None:
        return ""
    function = getattr(value, method, None)
    if callable(function):
        return function(page_language())
    return str(getattr(value, fallback, "") or "") if fallback else str(value)


@register.filter
def venue_in_language(value) -> str:
    return _in_page_language(value, "venue_in", "venue")


@register.filter
def name_in_language(value) -> str:
    """A ministry's (or department's) name alone, in the page's language."""
    return _in_page_language(value, "name_in", "name_en")


@register.filter
def ministry_name_in_language(value) -> str:
    """An enrolment's ministry as named when the official enrolled, in the page's language."""
    return _in_page_language(value, "ministry_name_in", "ministry_name_en")


@register.filter
def description_in_language(value) -> str:
    return _in_page_language(value, "description_in", "description")


@register.filter
def short_name_in_language(value) -> str:
    return _in_page_language(value, "short_name_in", "short_name")


def script_of(text: str) -> str:
    """'km' when the text has Khmer script in it, else 'en'."""
    return "km" if re.search(f"[{KHMER}]", str(text)) else "en"


@register.filter
def lang_of(value) -> str:
    return script_of(value)


@register.filter(needs_autoescape=False)
def by_script(value):
    if isinstance(value, SafeData):  # markup already: cutting it into runs could break it
        return value
    text = "" if value is None else str(value)
    page = page_language()
    pattern, lang = (LATIN_RUN, "en") if page == "km" else (KHMER_RUN, "km")
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(format_html('<span lang="{}">{}</span>', lang, match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped
