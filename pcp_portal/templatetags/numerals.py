"""`{{ value|digits:digits }}`: the value with Khmer digits when the user chose them (the `digits`
context variable, see pcp_portal.numerals); `{{ moment|moment }}`: the one unambiguous format of a
moment that the server and the register's script both show."""

from __future__ import annotations

from django import template

from pcp_portal import numerals

register = template.Library()


@register.filter
def digits(value, choice: str = numerals.LATIN) -> str:
    return numerals.in_digits(value, choice)


@register.filter
def moment(value) -> str:
    return numerals.moment_text(value)
