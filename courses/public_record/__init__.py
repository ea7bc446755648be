"""Loading the public record of the PCP Cambodia course series (public_record.json) into the database.

The loader is idempotent and never overwrites a row that staff have edited since it was
loaded (see ReferenceRecordModel): running it twice changes nothing.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from courses.models import Course, Programme, Project
from ministries.models import Ministry, MinistryName

DATA_FILE = Path(__file__).resolve().parent / "public_record.json"


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edits: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.kept_edits)} kept as edited by staff"
        )


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _upsert(model, key: str, values: dict, record: dict, report: LoadReport):
    """Create the row for `key`, or bring it up to date unless staff have edited it."""
    obj = model.objects.filter(reference_key=key).first()
    provenance = {"sources": record.get("sources") or {}, "source_notes": record.get("notes") or {}}
    if isinstance(provenance["source_notes"], str):
        provenance["source_notes"] = {"": provenance["source_notes"]}
    if obj is None:
        obj = model(reference_key=key, **values, **provenance)
        obj.reference_hash = obj.compute_reference_hash()
        obj.full_clean(exclude=["successors"])
        obj.save()
        report.created.append(key)
        return obj
    if obj.edited_since_loaded:
        report.kept_edits.append(key)
        return obj
    provenance_changed = any(getattr(obj, name) != value for name, value in provenance.items())
    for name, value in {**values, **provenance}.items():
        setattr(obj, name, value)
    new_hash = obj.compute_reference_hash()
    changed = new_hash != obj.reference_hash or provenance_changed
    if changed:
        obj.reference_hash = new_hash
        obj.full_clean(exclude=["successors"])
        obj.save()
        report.updated.append(key)
    else:
        report.unchanged.append(key)
    return obj


def _load_ministries(records: list[dict], report: LoadReport) -> dict[str, Ministry]:
    by_code: dict[str, Ministry] = {}
    # Parents first, so a body can point at its ministry.
    for record in sorted(records, key=lambda r: r["parent"] is not None):
        values = {
            "code": record["code"],
            "name_en": record["name_en"],
            "name_km": record["name_km"],
            "acronym": record["acronym"],
            "kind": record["kind"],
            "parent": by_code.get(record["parent"]) if record["parent"] else None,
            "established_on": _date(record["established_on"]),
            "dissolved_on": _date(record["dissolved_on"]),
            "notes": record["notes"],
        }
        history = record.get("history") or []
        record = {**record, "notes": {"history": history}} if history else {**record, "notes": {}}
        ministry = _upsert(Ministry, f"ministry:{record['key']}", values, record, report)
        by_code[record["code"]] = ministry
        for former in record["former_names"]:
            _, created = MinistryName.objects.get_or_create(
                ministry=ministry,
                valid_to=_date(former["valid_to"]),
                defaults={
                    "name_en": former["name_en"],
                    "name_km": former["name_km"] or "",
                    "acronym": former["acronym"] or "",
                    "valid_from": _date(former["valid_from"]),
                    "legal_basis": former["legal_basis"],
                    "source_url": former["source_url"] or "",
                },
            )
            if created:
                report.created.append(f"ministry-name:{record['key']}:{former['valid_to']}")
    for record in records:
        if record["successors"]:
            ministry = by_code[record["code"]]
            missing = [
                by_code[c]
                for c in record["successors"]
                if not ministry.successors.filter(pk=by_code[c].pk).exists()
            ]
            if missing:
                ministry.successors.add(*missing)
    return by_code


@transaction.atomic
def load_public_record(data_file: Path = DATA_FILE) -> LoadReport:
    data = json.loads(Path(data_file).read_text(encoding="utf-8"))
    report = LoadReport()
    _load_ministries(data["ministries"], report)
    programmes = {}
    for record in data["programmes"]:
        values = {name: record[name] for name in Programme.REFERENCE_FIELDS}
        for name in ("joint_declaration_date", "revised_document_date"):
            values[name] = _date(values[name])
        programmes[record["key"]] = _upsert(Programme, record["key"], values, record, report)
    projects = {}
    for record in data["projects"]:
        values = {name: record[name] for name in Project.REFERENCE_FIELDS if name != "programme"}
        values["programme"] = programmes[record["programme"]]
        values["start_date"], values["end_date"] = _date(values["start_date"]), _date(values["end_date"])
        projects[record["key"]] = _upsert(Project, record["key"], values, record, report)
    for record in data["courses"]:
        values = {name: record[name] for name in Course.REFERENCE_FIELDS if name != "project"}
        values["project"] = projects[record["project"]]
        values["start_date"], values["end_date"] = _date(values["start_date"]), _date(values["end_date"])
        _upsert(Course, record["key"], values, record, report)
    return report
