"""The printed sheet: both scripts, the codes, the ministry of the day, the page count, and how it
looks (page 1 is rendered to PNG in var/screenshots/ to be looked at: Khmer shaped, no word cut)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string

from participants import signin
from tests.signin.conftest import PEOPLE, make_session

# Enough officials for the sheet to run over two pages (and the walk-in rows onto the last).
MANY = PEOPLE + [(f"Sao{n}", "Sopheap", f"សៅ សុភាព {n}", ("misti", "mef", "moc")[n % 3]) for n in range(1, 31)]


def pdf_text(pdf: bytes, tmp_path: Path, mode: str = "-layout") -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", mode, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {
        key.strip(): value.strip() for key, _, value in (line.partition(":") for line in info.splitlines())
    }


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    return int(pdf_info(pdf, tmp_path)["Pages"])


def khmer_in_row(name: str, code: str, raw_text: str) -> bool:
    """Whether the Khmer `name` is in its row of the text pdftotext read, as far as a PDF lets
    Khmer be read back.

    A PDF maps each glyph to one piece of text, the first it was drawn for (WeasyPrint's ToUnicode
    table); Khmer draws a pre-base vowel or a subscript consonant with one glyph in many syllables,
    so the text read back loses or misplaces some of those marks ("កែវ ស្រីមុំ" reads "វ សីមុំ")
    although the page shows them right (see the PNG, and the exact names in the HTML rendered,
    test_the_html_rendered_holds_the_khmer_names_exactly). So: in the row (from its code to the
    next row), most of the name's letters are there."""
    row = raw_text.split(code, 1)[1]
    row = re.split(r"\n\d+ [A-Z0-9]{5}\n", row, maxsplit=1)[0]
    letters = set(name.replace(" ", ""))
    return sum(letter in row for letter in letters) / len(letters) >= 0.6


@pytest.fixture(autouse=True)
def _poppler():
    if not shutil.which("pdftotext"):
        if settings.CI:
            pytest.fail("poppler-utils (pdftotext) is needed in CI")
        pytest.skip("poppler-utils (pdftotext) is not installed")


def test_the_sheet_lists_each_enrolled_official_in_both_scripts_with_their_code(sheet_session, tmp_path):
    pdf = signin.sheet_pdf(sheet_session)
    text = pdf_text(pdf, tmp_path)
    rows = signin.sheet_rows(sheet_session)
    assert len(rows) == len(PEOPLE)
    for row in rows:
        assert row.code in text
        if row.official.latin_name:
            assert row.official.latin_name in text
    raw = pdf_text(pdf, tmp_path, "-raw")
    for row in rows:
        if row.official.name_km:
            assert khmer_in_row(row.official.name_km, row.code, raw), row.official.name_km
    assert "MEAS Rith" not in text  # withdrawn
    flat = " ".join(text.split())
    assert "Metrology and quality infrastructure" in flat
    assert "Sokha Hotel, Phnom Penh" in flat
    assert "2020-04-10, 08:30–12:00" in flat
    assert "Page 1 of 1" in flat


def test_the_html_rendered_holds_the_khmer_names_exactly(sheet_session):
    html = render_to_string(signin.SHEET_TEMPLATE, signin.sheet_context(sheet_session))
    words = " ".join(re.findall(r'<span class="w">([^<]*)</span>', html))
    for _family, _given, khmer, _ministry in PEOPLE:
        assert khmer in words
    assert "ក្រសួងឧស្សាហកម្ម" in words  # MISTI in Khmer, as named on the day
    assert "<svg" in html and "/sessions/" in html  # the QR code of the register, drawn inline


def test_the_ministry_is_named_as_it_was_on_the_session_day_not_at_enrolment(sheet_session, tmp_path):
    """Enrolled on 1 February 2020 as MIH; the session is on 10 April 2020, after the rename to MISTI."""
    rows = {row.official.family_name: row for row in signin.sheet_rows(sheet_session)}
    assert rows["Sok"].ministry_acronym == "MISTI"
    assert sheet_session.course.enrollments.get(official__family_name="Sok").ministry_acronym == "MIH"
    text = pdf_text(signin.sheet_pdf(sheet_session), tmp_path, "-raw")
    assert "MISTI · Ministry of Industry, Science, Technology and Innovation" in " ".join(text.split())
    assert "Handicraft" not in text


def test_a_long_sheet_repeats_its_header_on_every_page_and_numbers_the_pages(ministries, tmp_path):
    session = make_session(ministries, MANY)
    pdf = signin.sheet_pdf(session)
    pages = pdf_pages(pdf, tmp_path)
    assert pages >= 2
    assert pdf_info(pdf, tmp_path)["Page size"] == "595.276 x 841.89 pts (A4)"  # portrait
    text = pdf_text(pdf, tmp_path)
    page_texts = text.split("\f")
    for number, page in enumerate(page_texts[:pages], start=1):
        assert f"Page {number} of {pages}" in page
        assert "Sign-in sheet" in page and session.title in page
        assert "Signature" in page
    # The blank rows for walk-ins are numbered on from the last official.
    assert f" {len(MANY) + 1} " in page_texts[pages - 1] or f"{len(MANY) + 1}\n" in page_texts[pages - 1]
    # Page 1 as an image, to look at: Khmer shaped, no word cut at a line's end.
    out = Path(settings.BASE_DIR) / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    (out / "signin-sheet.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "110",
            "-f",
            "1",
            "-l",
            "1",
            str(out / "signin-sheet.pdf"),
            str(out / "signin-sheet"),
        ],
        check=True,
    )
    assert (out / "signin-sheet-1.png").stat().st_size > 20_000


def test_the_sheet_and_its_template_cost_the_same_queries_for_six_officials_or_thirty_six(
    ministries, staff_client, django_assert_max_num_queries
):
    few, many = make_session(ministries), make_session(ministries, MANY, title="Many")
    for session in (few, many):
        signin.sheet_rows(session)  # the codes exist: what follows only reads them
        with django_assert_max_num_queries(9):
            response = staff_client.get(f"/sessions/{session.pk}/sign-in-sheet.csv")
        assert (
            response.content.decode("utf-8-sig").count("\n")
            == len(session.course.enrollments.filter(status="enrolled")) + 1
        )
