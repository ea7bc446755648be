"""Cells that would run as spreadsheet formulas are neutralised; everything else passes untouched."""

import pytest

from pcp_portal.spreadsheets import safe_cell, safe_row


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\x00=1"],
)
def test_formula_like_text_is_prefixed_so_it_stays_text(value):
    cleaned = safe_cell(value)
    assert cleaned.startswith("'")
    assert "\x00" not in cleaned


@pytest.mark.parametrize("value", ["Sok Dara", "សុខ ដារ៉ា", "", 12, 0.75, None, "a=b", "-"[1:]])
def test_ordinary_values_pass_unchanged(value):
    assert safe_cell(value) == value


def test_safe_row_cleans_each_cell():
    assert safe_row(["=1", "ok", 3]) == ["'=1", "ok", 3]
