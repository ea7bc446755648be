"""The project's IATI 2.03 activity file, with its results framework, targets and actuals.

The file is validated against the IATI 2.03 activity schema (a copy in `iati_schema/`, read
offline) before anyone gets it: `build_iati` returns either valid XML or the list of what is
missing, never an invalid file. Actuals are the progress page's (`framework_progress`), so the
page, the workbook and the file agree.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import xmlschema
from defusedxml import ElementTree as DefusedET
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Course, Project, Session
from courses.selectors import sessions_held_filter
from participants.results import actuals

SCHEMA = Path(__file__).resolve().parent / "iati_schema" / "iati-activities-schema.xsd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# IATI codelists: OrganisationRole 1 funding, 4 implementing, 2 accountable; OrganisationType 10
# government, 40 multilateral; ActivityDateType 1 planned start, 2 actual start, 3 planned end,
# 4 actual end; ActivityStatus 2 implementation, 4 closed; Sector vocabulary 1 = DAC 5-digit.
DAC_SECTOR = "32110"  # Industrial policy and administrative management


@functools.cache
def schema() -> xmlschema.XMLSchema:
    # allow="sandbox": the schema's own files only, never a fetch over the network.
    return xmlschema.XMLSchema(str(SCHEMA), base_url=str(SCHEMA.parent), allow="sandbox")


def validation_errors(xml: bytes) -> list[str]:
    """What makes the file invalid against IATI 2.03 (empty when valid). The file is parsed here
    (defusedxml: no entities, no external references) and the tree handed to the schema."""
    tree = DefusedET.fromstring(xml)
    return [error.reason or str(error) for error in schema().iter_errors(tree)]


@dataclass
class IatiResult:
    xml: bytes | None = None
    missing: list[str] = field(default_factory=list)


def _number(value) -> str:
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


def _narratives(parent: ET.Element, tag: str, english: str, khmer: str = "") -> ET.Element:
    element = ET.SubElement(parent, tag)
    ET.SubElement(element, "narrative").text = english
    if khmer:
        ET.SubElement(element, "narrative", {XML_LANG: "km"}).text = khmer
    return element


def missing_fields(project: Project, rows: list[actuals.ResultProgress], first_session) -> list[str]:
    missing = []
    if not settings.PCP_IATI_ACTIVITY_IDENTIFIER:
        missing.append(_("The IATI activity identifier (setting PCP_IATI_ACTIVITY_IDENTIFIER)."))
    if not settings.PCP_IATI_REPORTING_ORG_REF:
        missing.append(_("The reporting organisation's identifier (setting PCP_IATI_REPORTING_ORG_REF)."))
    if not project.description:
        missing.append(_("The project's description."))
    if not project.donor:
        missing.append(_("The project's donor (the funding organisation)."))
    if project.start_date is None and first_session is None:
        missing.append(_("A start date: the project's, or a held session of one of its courses."))
    if not rows:
        missing.append(_("A results framework: at least one result with an indicator."))
    for row in rows:
        if not row.indicators:
            missing.append(_("An indicator for the result “%(result)s”.") % {"result": row.result.title_en})
    return missing


def _period(indicator_element: ET.Element, period: actuals.PeriodProgress) -> None:
    element = ET.SubElement(indicator_element, "period")
    ET.SubElement(element, "period-start", {"iso-date": period.start.isoformat()})
    ET.SubElement(element, "period-end", {"iso-date": period.end.isoformat()})
    for tag, value in (("target", period.target), ("actual", period.actual)):
        if value.total is not None:
            ET.SubElement(element, tag, {"value": _number(value.total)})
        for sex, part in (("female", value.women), ("male", value.men)):
            if part is not None:
                split = ET.SubElement(element, tag, {"value": _number(part)})
                ET.SubElement(split, "dimension", {"name": "sex", "value": sex})


def activity_xml(project: Project, rows: list[actuals.ResultProgress], first_session, *, now) -> bytes:
    root = ET.Element(
        "iati-activities", {"version": "2.03", "generated-datetime": now.replace(microsecond=0).isoformat()}
    )
    activity = ET.SubElement(
        root,
        "iati-activity",
        {
            "last-updated-datetime": project.updated_at.replace(microsecond=0).isoformat(),
            XML_LANG: "en",
            "default-currency": "USD",
        },
    )
    ET.SubElement(activity, "iati-identifier").text = settings.PCP_IATI_ACTIVITY_IDENTIFIER
    reporting = ET.SubElement(
        activity, "reporting-org", {"ref": settings.PCP_IATI_REPORTING_ORG_REF, "type": "40"}
    )
    ET.SubElement(reporting, "narrative").text = settings.PCP_IATI_REPORTING_ORG_NAME
    # The project has no Khmer title on the public record: none is invented.
    _narratives(activity, "title", project.title)
    _narratives(activity, "description", project.description).set("type", "1")
    funding = ET.SubElement(activity, "participating-org", {"role": "1", "type": "10"})
    ET.SubElement(funding, "narrative").text = project.donor
    implementing = ET.SubElement(
        activity, "participating-org", {"role": "4", "type": "40", "ref": settings.PCP_IATI_REPORTING_ORG_REF}
    )
    ET.SubElement(implementing, "narrative").text = (
        project.implementing_agency or settings.PCP_IATI_REPORTING_ORG_NAME
    )
    for partner in project.counterparts or ([project.national_partner] if project.national_partner else []):
        organisation = ET.SubElement(activity, "participating-org", {"role": "2", "type": "10"})
        ET.SubElement(organisation, "narrative").text = str(partner)
    today = timezone.localdate(now)
    ended = project.end_date is not None and project.end_date < today
    ET.SubElement(activity, "activity-status", {"code": "4" if ended else "2"})
    if project.start_date:
        ET.SubElement(activity, "activity-date", {"type": "1", "iso-date": project.start_date.isoformat()})
    if first_session is not None:
        ET.SubElement(activity, "activity-date", {"type": "2", "iso-date": first_session.isoformat()})
    if project.end_date:
        ET.SubElement(
            activity,
            "activity-date",
            {"type": "4" if ended else "3", "iso-date": project.end_date.isoformat()},
        )
    ET.SubElement(activity, "recipient-country", {"code": "KH", "percentage": "100"})
    ET.SubElement(activity, "sector", {"vocabulary": "1", "code": DAC_SECTOR, "percentage": "100"})
    for row in rows:
        result = ET.SubElement(activity, "result", {"type": str(row.result.level), "aggregation-status": "0"})
        _narratives(result, "title", row.result.title_en, row.result.title_km)
        for item in row.indicators:
            indicator = item.indicator
            element = ET.SubElement(
                result,
                "indicator",
                {"measure": str(indicator.measure), "ascending": "1" if indicator.ascending else "0"},
            )
            _narratives(element, "title", indicator.title_en, indicator.title_km)
            _narratives(element, "description", item.footnote)
            if indicator.baseline_year is not None:
                baseline = ET.SubElement(
                    element,
                    "baseline",
                    {"year": str(indicator.baseline_year), "value": _number(indicator.baseline_value)},
                )
                if indicator.baseline_note:
                    _narratives(baseline, "comment", indicator.baseline_note)
            for period in item.periods:
                _period(element, period)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def first_held_session_date(project: Project, *, now) -> datetime.date | None:
    """The actual start: the first held session of the project's courses (a fact the portal holds
    while the public record does not give the project's start date)."""
    first = (
        Session.objects.filter(
            sessions_held_filter(now=now), course__in=Course.objects.filter(project=project)
        )
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    return timezone.localdate(first) if first else None


def build_iati(project: Project, *, now=None) -> IatiResult:
    now = now or timezone.now()
    rows = actuals.framework_progress(project=project, now=now)
    first_session = first_held_session_date(project, now=now)
    missing = missing_fields(project, rows, first_session)
    if missing:
        return IatiResult(missing=missing)
    xml = activity_xml(project, rows, first_session, now=now)
    errors = validation_errors(xml)
    if errors:
        return IatiResult(
            missing=[
                _("The file does not validate against IATI 2.03: %(reason)s") % {"reason": e}
                for e in errors[:10]
            ]
        )
    return IatiResult(xml=xml)
