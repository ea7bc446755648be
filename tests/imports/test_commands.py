"""The management commands: the same preview, --dry-run writes nothing, errors import nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from participants.models import Enrollment, ImportBatch, Official
from tests.factories import CourseFactory
from tests.imports.conftest import FILES


def test_dry_run_prints_the_preview_and_changes_nothing(staff, ministries, capsys):
    call_command(
        "import_officials", str(FILES / "officials_clean.csv"), "--user", staff.username, "--dry-run"
    )
    out = capsys.readouterr().out
    assert "5 to create" in out and "Dry run: nothing was changed." in out
    assert Official.objects.count() == 0


def test_the_command_imports_and_a_second_run_of_the_same_file_is_refused(
    staff, ministries, capsys, tmp_path
):
    call_command("import_officials", str(FILES / "officials_clean.csv"), "--user", staff.username)
    assert "Imported: 5 created" in capsys.readouterr().out
    first = ImportBatch.objects.get()
    with pytest.raises(CommandError, match=rf"the same file was already imported \(import #{first.pk}, "):
        call_command("import_officials", str(FILES / "officials_clean.csv"), "--user", staff.username)
    assert Official.history.count() == 5
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    assert second.status == ImportBatch.Status.FAILED and f"import #{first.pk}" in second.message

    # The same bytes changed by one character are another file: imported, nothing to change.
    changed = (FILES / "officials_clean.csv").read_bytes() + b"\n"
    path = tmp_path / "changed.csv"
    path.write_bytes(changed)
    call_command("import_officials", str(path), "--user", staff.username)
    assert "Imported: 0 created, 0 updated, 5 unchanged." in capsys.readouterr().out


def test_a_file_with_a_bad_row_imports_nothing_from_the_command(staff, ministries):
    with pytest.raises(CommandError, match="lines 151"):
        call_command(
            "import_officials", str(FILES / "officials_200_good_1_bad.csv"), "--user", staff.username
        )
    assert Official.objects.count() == 0


def test_a_zip_bomb_is_refused_by_the_command(staff, ministries):
    with pytest.raises(CommandError, match="zip bomb"):
        call_command("import_officials", str(FILES / "zip_bomb.xlsx"), "--user", staff.username)


def test_enrolments_by_command(staff, ministries):
    course = CourseFactory()
    call_command(
        "import_enrolments",
        str(FILES / "enrolments_clean.csv"),
        "--user",
        staff.username,
        "--course",
        str(course.pk),
    )
    assert Enrollment.objects.filter(course=course).count() == 3
