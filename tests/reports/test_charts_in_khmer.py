"""Charts stay drawable in Khmer: Khmer formats decimals with a comma, SVG geometry must not."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_khmer_programme_report_draws_its_bars_with_plain_numbers(world, officer_client):
    officer_client.cookies["django_language"] = "km"
    html = officer_client.get(reverse("reports:programme")).content.decode()
    widths = re.findall(r'<rect class="bar" [^>]*width="([^"]+)"', html)
    assert widths, "the report draws no bar"
    for width in widths:
        float(width)  # "66,7" would not parse, and the browser would draw nothing
    assert "ស្ត្រី" in html  # the page really is in Khmer


def test_english_left_in_a_khmer_report_table_is_marked_as_english(world, officer_client):
    """MOC has no Khmer name: on the Khmer page its English name is read with the English voice."""
    officer_client.cookies["django_language"] = "km"
    html = officer_client.get(reverse("reports:ministries")).content.decode()
    tables = "".join(re.findall(r'<table class="report-table".*?</table>', html, flags=re.S))
    assert '<span lang="en">Ministry of Commerce</span>' in tables
    # A Khmer name on its own Khmer page is left unmarked, and the figures are never wrapped.
    assert '<span lang="en">ក្រសួង' not in tables
    assert not re.search(r'class="num"><span', tables)
