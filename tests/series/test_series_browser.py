"""The series page in real Chromium: on a phone without sideways scrolling; in Khmer, no English left."""

from __future__ import annotations

import re

import pytest

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Words that stay Latin in Khmer too: the export formats' names.
LATIN_ALLOWED = {"CSV", "XLSX", "PDF"}


def _data_words(series) -> set[str]:
    """The Latin words that are data (names, titles, ministries), not the page's own words."""
    texts = [str(series["project"])]
    texts += [course.title for course in series["courses"]]
    for official in series["officials"].values():
        texts += [official.family_name, official.family_name.upper(), official.given_name]
    for ministry in (series["misti"], series["moc"]):
        texts += [ministry.name_en, ministry.acronym, "Ministry of Industry and Handicraft", "MIH"]
    return {word for text in texts for word in re.findall(r"[A-Za-z]+", text)}


def test_the_series_page_fits_a_phone_and_shows_its_matrix(series, new_page, staff):
    page = new_page(staff, viewport={"width": 390, "height": 844})
    page.goto(f"{page.base_url}/series/{series['project'].pk}/")
    assert page.locator("#series-matrix tbody tr").count() == 5
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width} px wide"
    assert page.locator("#not-held-note").is_visible()
    screenshot(page, "series-390")


def test_the_series_page_in_khmer_has_no_english_left(series, new_page, staff):
    page = new_page(staff, locale="km", viewport={"width": 1280, "height": 900})
    page.goto(f"{page.base_url}/series/{series['project'].pk}/")
    text = page.locator("main").inner_text()
    assert "ស៊េរី" in text
    allowed = LATIN_ALLOWED | _data_words(series)
    english = sorted({word for word in re.findall(r"[A-Za-z]+", text) if word not in allowed})
    assert english == [], f"English left on the Khmer series page: {english}"
    screenshot(page, "series-km")
