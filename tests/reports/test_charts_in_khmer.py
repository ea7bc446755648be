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
