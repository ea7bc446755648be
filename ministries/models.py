"""Ministries and bodies of the Royal Government of Cambodia, their departments and dated names.

A ministry keeps one identity across renames (MIH became MISTI in March 2020): its current
name lives on the row, earlier names in MinistryName with the dates they were valid, so a
report or a record from 2019 can show the name of 2019.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pcp_portal.db import ReferenceRecordModel, TimeStampedModel

# The lengths of a ministry's names, whether it bears them now, bore them before (MinistryName) or
# an enrolment recorded them (participants.Enrollment): a name that fits one fits all three.
NAME_MAX_LENGTH = 200
ACRONYM_MAX_LENGTH = 20


class MinistryQuerySet(models.QuerySet):
    def existing_on(self, date: datetime.date) -> MinistryQuerySet:
        """The ministries and bodies that existed on `date` (see Ministry.existed_on)."""
        return self.filter(
            Q(established_on__isnull=True) | Q(established_on__lte=date),
            Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=date),
        )


class Ministry(ReferenceRecordModel, TimeStampedModel):
    class Kind(models.TextChoices):
        MINISTRY = "ministry", _("Ministry")
        OFFICE = "office", _("Office (ministry-level)")
        SECRETARIAT = "secretariat", _("Secretariat of State")
        COUNCIL = "council", _("Council")
        INSTITUTE = "institute", _("Institute")
        AGENCY = "agency", _("Agency")
        OTHER = "other", _("Other body")

    REFERENCE_FIELDS = (
        "code",
        "name_en",
        "name_km",
        "acronym",
        "kind",
        "parent",
        "established_on",
        "dissolved_on",
        "notes",
    )

    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Short stable identifier, e.g. 'misti'.")
    )
    name_en = models.CharField(_("name (English)"), max_length=NAME_MAX_LENGTH)
    name_km = models.CharField(_("name (Khmer)"), max_length=NAME_MAX_LENGTH, blank=True)
    acronym = models.CharField(_("acronym"), max_length=ACRONYM_MAX_LENGTH, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MINISTRY)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent body"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("The ministry a body sits under, e.g. the Institute of Standards of Cambodia."),
    )
    established_on = models.DateField(_("established on"), null=True, blank=True)
    dissolved_on = models.DateField(
        _("dissolved on"), null=True, blank=True, help_text=_("Set for a body that was split or abolished.")
    )
    successors = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="predecessors", verbose_name=_("successors")
    )
    notes = models.TextField(_("notes"), blank=True)

    objects = MinistryQuerySet.as_manager()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("ministry or body")
        verbose_name_plural = _("ministries and bodies")
        constraints = [
            models.UniqueConstraint(Lower("name_en"), name="ministry_name_en_unique_ci"),
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True)
                | Q(established_on__isnull=True)
                | Q(dissolved_on__gte=models.F("established_on")),
                name="ministry_dissolved_after_established",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="ministry_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.acronym})" if self.acronym else self.name_en

    def label_in(self, language: str) -> str:
        """The Khmer name in Khmer mode when one is stored, else what `str()` shows."""
        return self.name_km if language == "km" and self.name_km else str(self)

    def name_in(self, language: str) -> str:
        """The name alone (no acronym) in `language`, English when no Khmer one is stored."""
        return self.name_km if language == "km" and self.name_km else self.name_en

    @property
    def is_current(self) -> bool:
        return self.dissolved_on is None

    def existed_on(self, date: datetime.date) -> bool:
        """Whether the body existed on `date`: from `established_on` (if known) until the day before
        `dissolved_on`, the first day it no longer existed. A rename is not a dissolution."""
        if self.established_on is not None and date < self.established_on:
            return False
        return self.dissolved_on is None or date < self.dissolved_on

    def name_on(self, date: datetime.date | None) -> MinistryName | None:
        """The former name valid on `date`, or None when the current name applies.

        Uses prefetched `former_names` when present, so listing many ministries costs no extra query.
        """
        if date is None:
            return None
        for name in self.former_names.all():
            if name.valid_to > date and (name.valid_from is None or name.valid_from <= date):
                return name
        return None

    def display_name_on(self, date: datetime.date | None, language: str = "en") -> str:
        former = self.name_on(date)
        source = former or self
        if language == "km" and source.name_km:
            return source.name_km
        return source.name_en

    def acronym_on(self, date: datetime.date | None) -> str:
        former = self.name_on(date)
        return former.acronym if former else self.acronym


class MinistryName(TimeStampedModel):
    """A name a ministry had before its current one, valid from `valid_from` (if known) until `valid_to`."""

    ministry = models.ForeignKey(Ministry, on_delete=models.CASCADE, related_name="former_names")
    name_en = models.CharField(_("name (English)"), max_length=NAME_MAX_LENGTH)
    name_km = models.CharField(_("name (Khmer)"), max_length=NAME_MAX_LENGTH, blank=True)
    acronym = models.CharField(_("acronym"), max_length=ACRONYM_MAX_LENGTH, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), help_text=_("The day the next name took effect."))
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    source_url = models.URLField(_("source"), max_length=500, blank=True)

    class Meta:
        ordering = ["ministry", "valid_to"]
        verbose_name = _("former ministry name")
        verbose_name_plural = _("former ministry names")
        constraints = [
            # A ministry has one name ending on a given day; the loader relies on it to stay idempotent.
            models.UniqueConstraint(fields=["ministry", "valid_to"], name="ministry_name_unique_end"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_from__lt=models.F("valid_to")),
                name="ministry_name_valid_range",
            ),
        ]

    def __str__(self) -> str:
        start = self.valid_from.isoformat() if self.valid_from else "?"
        return f"{self.name_en} ({start} - {self.valid_to.isoformat()})"


class Department(TimeStampedModel):
    ministry = models.ForeignKey(Ministry, on_delete=models.CASCADE, related_name="departments")
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_km = models.CharField(_("name (Khmer)"), max_length=200, blank=True)

    class Meta:
        ordering = ["ministry", "name_en"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(Lower("name_en"), "ministry", name="department_name_unique_per_ministry"),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} — {self.ministry.acronym or self.ministry.name_en}"


def _touch_ministry(sender, instance, **kwargs) -> None:
    """A changed or removed former name changes the ministry as the API shows it (its name history)."""
    Ministry.objects.filter(pk=instance.ministry_id).update(updated_at=timezone.now())


post_save.connect(_touch_ministry, sender=MinistryName, dispatch_uid="pcp-touch-ministry-save")
post_delete.connect(_touch_ministry, sender=MinistryName, dispatch_uid="pcp-touch-ministry-del")
