"""Spreadsheet safety shared by every export and import: no cell can carry a formula.

A text cell that begins with =, +, -, @, a tab, a carriage return or NUL would be run as a
formula by Excel or LibreOffice (CSV/formula injection). Every CSV and XLSX export passes its
text cells through `safe_cell`; imports store such values as the plain text they are and say so
in their preview (participants/imports/plan.py), so exporting them again quotes them.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def looks_like_formula(value) -> bool:
    """Whether a spreadsheet would run `value` as a formula: text starting with a trigger."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def safe_cell(value):
    """Return `value` unchanged unless it is text a spreadsheet would treat as a formula;
    then prefix it with an apostrophe, the spreadsheet convention for "this is text"."""
    if looks_like_formula(value):
        return "'" + value.replace("\x00", "")
    return value


def safe_row(values):
    return [safe_cell(value) for value in values]
