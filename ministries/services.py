"""Every write to ministries goes through here."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ministries.models import Ministry, MinistryName


@transaction.atomic
def ministry_rename(
    *,
    ministry: Ministry,
    name_en: str,
    name_km: str = "",
    acronym: str = "",
    effective_on: datetime.date,
    legal_basis: str = "",
    source_url: str = "",
) -> Ministry:
    """Give a ministry a new name from `effective_on`, keeping the old one in its history.

    Old records keep the name they were made under: enrolments carry a snapshot, and reports
    ask `Ministry.name_on(date)`.
    """
    ministry = Ministry.objects.select_for_update().get(pk=ministry.pk)
    last = ministry.former_names.order_by("-valid_to").first()
    if last and effective_on <= last.valid_to:
        raise ValidationError(
            {
                "effective_on": _(
                    "The new name must take effect after %(date)s, when the last rename took effect."
                )
                % {"date": last.valid_to.isoformat()}
            }
        )
    if not name_en.strip():
        raise ValidationError({"name_en": _("The new English name is required.")})
    MinistryName.objects.create(
        ministry=ministry,
        name_en=ministry.name_en,
        name_km=ministry.name_km,
        acronym=ministry.acronym,
        valid_from=last.valid_to if last else ministry.established_on,
        valid_to=effective_on,
        legal_basis=legal_basis,
        source_url=source_url,
    )
    ministry.name_en = name_en.strip()
    ministry.name_km = name_km.strip()
    ministry.acronym = acronym.strip()
    ministry.full_clean(exclude=["successors"])
    ministry.save()
    return ministry
