"""The Khmer catalogue: committed and compiled, complete for every marked string, and switched per user."""

import ast
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import require
from tests.factories import AttendanceFactory, EnrollmentFactory, SessionFactory

LOCALE = Path(settings.BASE_DIR) / "locale" / "km" / "LC_MESSAGES"


def _catalog(path: Path) -> dict:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


def test_the_committed_mo_matches_the_po(tmp_path):
    require(shutil.which("msgfmt") is not None, "needs gettext's msgfmt (apt-get install gettext)")
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(compiled), str(LOCALE / "django.po")], check=True, timeout=60
    )
    assert _catalog(LOCALE / "django.mo") == _catalog(compiled), (
        "locale/km/LC_MESSAGES/django.mo is out of date: run `manage.py compilemessages -l km` and commit it"
    )


def _entries(po_text: str) -> list[dict]:
    """A tiny .po reader: each entry's flags and fields (msgid, msgstr, msgstr[0]…), not obsolete ones."""
    entries, current, field = [], None, None
    for line in [*po_text.splitlines(), ""]:
        line = line.strip()
        if not line:
            if current and current["fields"] and not current["obsolete"]:
                entries.append(current)
            current, field = None, None
            continue
        if current is None:
            current = {"flags": set(), "fields": {}, "obsolete": False}
        if line.startswith("#~"):
            current["obsolete"] = True
        elif line.startswith("#,"):
            current["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current["fields"][field] += ast.literal_eval(line)
        else:
            field, _, value = line.partition(" ")
            current["fields"][field] = ast.literal_eval(value)
    return entries


def _without_khmer(po_text: str) -> list[str]:
    """The msgids of every entry that is fuzzy or has an empty msgstr (the header, msgid "", excepted)."""
    missing = []
    for entry in _entries(po_text):
        fields = entry["fields"]
        if fields.get("msgid") == "" and "msgctxt" not in fields:
            continue
        translations = [value for name, value in fields.items() if name.startswith("msgstr")]
        if "fuzzy" in entry["flags"] or not translations or not all(translations):
            missing.append(fields.get("msgid"))
    return missing


def test_the_po_reader_finds_untranslated_fuzzy_and_plural_gaps():
    po_text = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Plural-Forms: nplurals=1; plural=0;\\n"',
            "",
            'msgid "Saved"',
            'msgstr "បានរក្សាទុក"',
            "",
            'msgid "New string"',
            'msgstr ""',
            "",
            "#, fuzzy, python-format",
            'msgid "Hello %(name)s"',
            'msgstr "សួស្ដី %(name)s"',
            "",
            'msgid "%(n)s row"',
            'msgid_plural "%(n)s rows"',
            'msgstr[0] ""',
            "",
            'msgid ""',
            '"A long "',
            '"string"',
            'msgstr ""',
            '"ខ្សែអក្សរ"',
            '"វែង"',
            "",
            '#~ msgid "Gone"',
            '#~ msgstr ""',
        ]
    )
    assert _without_khmer(po_text) == ["New string", "Hello %(name)s", "%(n)s row"]


def test_the_committed_khmer_catalogue_is_complete():
    missing = _without_khmer((LOCALE / "django.po").read_text(encoding="utf-8"))
    assert missing == [], (
        f"{len(missing)} entries of locale/km/LC_MESSAGES/django.po have no Khmer (or are fuzzy)"
    )


def test_every_string_marked_in_the_code_has_khmer_in_the_catalogue(tmp_path):
    """makemessages, run on a copy of the tree, finds no string that the committed catalogue lacks."""
    require(shutil.which("xgettext") is not None, "needs gettext's xgettext (apt-get install gettext)")
    skip = {".venv", "var", "benchmarks", "tests", ".git", "node_modules", "__pycache__"}
    copy = tmp_path / "tree"
    shutil.copytree(
        settings.BASE_DIR,
        copy,
        ignore=lambda folder, names: [
            name for name in names if name in skip or name.endswith((".egg-info", "_cache"))
        ],
    )
    made = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "km",
            "--no-wrap",
            "--ignore=.venv",
            "--ignore=var",
        ],
        cwd=copy,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "pcp_portal.settings", "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    missing = _without_khmer(
        (copy / "locale" / "km" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    )
    assert missing == [], (
        f"{len(missing)} marked strings have no Khmer: run `DEBUG=1 manage.py makemessages -l km --no-wrap"
        " --ignore=.venv --ignore=var --ignore=benchmarks --ignore=tests`, translate them, then"
        f" `manage.py compilemessages -l km --ignore=.venv`: {missing}"
    )


@pytest.mark.django_db
def test_the_language_switch_remembers_khmer_and_the_register_speaks_it(staff_client):
    session = SessionFactory()
    AttendanceFactory(enrollment=EnrollmentFactory(course=session.course), session=session, status="late")
    response = staff_client.post(reverse("set_language"), {"language": "km", "next": "/dashboard/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "km"
    html = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert '<html lang="km">' in html
    assert "បញ្ជីវត្តមាន" in html  # Attendance register
    assert "យឺត" in html and "អវត្តមាន" in html and "មានច្បាប់" in html
    assert "ផ្ទាំងគ្រប់គ្រង" in html  # Dashboard, in the nav
    # Django calls it "Khmer" even in Khmer; each language is named, and marked, in its own language.
    assert '<option value="km" selected lang="km">ខ្មែរ</option>' in html
