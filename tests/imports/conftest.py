"""Helpers for the import tests: the files under files/, and a preview made as a staff member would."""

from __future__ import annotations

from pathlib import Path

import pytest

from participants.imports.plan import preview_import

FILES = Path(__file__).resolve().parent / "files"


def file_bytes(name: str) -> bytes:
    return (FILES / name).read_bytes()


@pytest.fixture
def preview(staff):
    def make(name: str, kind: str = "officials", data: bytes | None = None, **context):
        return preview_import(
            kind=kind, filename=name, data=file_bytes(name) if data is None else data, user=staff, **context
        )

    return make


@pytest.fixture
def ministries(public_record):
    from ministries.models import Ministry

    return {m.code: m for m in Ministry.objects.all()}
