"""Two records of one person made one, and undone: the one door for merging officials.

A duplicate made at the door (a typo, another ministry) splits a person's record in two. A merge
keeps one record (the survivor) with the field values chosen for it, moves the other's enrolments
(each keeping the ministry it was made with), attendance, certificates, reminder ledger rows and
history rows to it, and deletes the other, so partners' copies get a deletion whose tombstone
names the survivor (`DeletedRecord.replaced_by`, the `official.merged` webhook event).

When both were enrolled in one course, the person chooses which enrolment survives before anything
is written. The other enrolment's attendance at sessions the kept one has no mark for moves to the
kept one (it is the same person's attendance); its other rows are removed, kept in full in the
merge record.

Both officials are locked in id order, so two merges of the same pair (two tabs, either direction)
wait for each other and the second finds its official gone and is refused. The merge record
(OfficialMerge) says who, when and what moved; `official_merge_undo` puts everything back from it
while the survivor's record is as the merge left it (its fingerprint), and refuses otherwise.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_update_with_history

from courses.models import Course
from participants import rollups
from participants.models import Attendance, Certificate, Enrollment, Official, OfficialMerge, ReminderDelivery
from participants.services import official_update
from pcp_portal.db import history_ip_address
from pcp_portal.models import DeletedRecord

# The fields a person chooses between, in the order the comparison shows them.
MERGE_FIELDS = (
    "family_name",
    "given_name",
    "name_km",
    "sex",
    "ministry",
    "department",
    "position",
    "email",
    "phone",
    "preferred_language",
)
SURVIVOR, OTHER = "survivor", "other"


class MergeRefused(ValidationError):
    """The merge or its undo cannot be done; nothing was written."""


@dataclass
class MergeConflict:
    """Both officials are enrolled in `course`: one of the two enrolments must be chosen."""

    course: Course
    survivor_enrollment: Enrollment
    other_enrollment: Enrollment

    @property
    def field_name(self) -> str:
        return f"keep_{self.course.pk}"


@dataclass
class MergeComparison:
    """Two officials side by side: their differing fields and the courses both are enrolled in."""

    survivor: Official
    other: Official
    # (name, label, the survivor's value, the other's value), values as shown ("" for none)
    fields: list[tuple[str, str, str, str]] = field(default_factory=list)
    conflicts: list[MergeConflict] = field(default_factory=list)
    survivor_enrollments: list[Enrollment] = field(default_factory=list)
    other_enrollments: list[Enrollment] = field(default_factory=list)
    # Why the merge cannot be made at all, whatever is chosen (shown instead of the Merge button).
    blocked: list[str] = field(default_factory=list)


def _refuse_same(survivor_id: int, other_id: int) -> None:
    if survivor_id == other_id:
        raise MergeRefused(_("An official cannot be merged into themselves: choose two different records."))


def _missing_message(official_id: int) -> str:
    return _(
        "Official #%(id)s no longer exists: it was deleted or already merged into another record. "
        "Nothing was changed."
    ) % {"id": official_id}


def merge_comparison(survivor_id: int, other_id: int) -> MergeComparison:
    """What a merge of `other_id` into `survivor_id` would do, for the comparison page: five queries."""
    _refuse_same(survivor_id, other_id)
    found = {
        official.pk: official
        for official in Official.objects.select_related("ministry", "department").filter(
            pk__in=[survivor_id, other_id]
        )
    }
    for official_id in (survivor_id, other_id):
        if official_id not in found:
            raise MergeRefused(_missing_message(official_id))
    comparison = MergeComparison(survivor=found[survivor_id], other=found[other_id])
    for name in MERGE_FIELDS:
        model_field = Official._meta.get_field(name)
        a, b = getattr(comparison.survivor, name), getattr(comparison.other, name)
        if a != b:
            comparison.fields.append(
                (name, str(model_field.verbose_name), _shown(model_field, a), _shown(model_field, b))
            )
    enrollments = (
        Enrollment.objects.filter(official_id__in=[survivor_id, other_id])
        .select_related("course", "certificate")
        .order_by("course__number", "id")
    )
    by_course: dict[int, dict[int, Enrollment]] = {}
    for enrollment in enrollments:
        by_course.setdefault(enrollment.course_id, {})[enrollment.official_id] = enrollment
        if enrollment.official_id == survivor_id:
            comparison.survivor_enrollments.append(enrollment)
        else:
            comparison.other_enrollments.append(enrollment)
    for pair in by_course.values():
        if len(pair) == 2:
            comparison.conflicts.append(
                MergeConflict(pair[survivor_id].course, pair[survivor_id], pair[other_id])
            )
    # Said before anyone chooses values: the merge itself refuses this, whatever is chosen.
    both = _series_held_by_both(
        Certificate.objects.filter(official_id__in=[survivor_id, other_id]).select_related("series"),
        survivor_id,
        other_id,
    )
    if both:
        comparison.blocked.append(
            _(
                "These two records cannot be merged: both have a certificate of the series %(series)s, "
                "and merging would void one of them."
            )
            % {"series": "; ".join(both)}
        )
    return comparison


def _series_held_by_both(certificates, survivor_id: int, other_id: int) -> list[str]:
    """The series of which both officials hold a certificate: a merge would void one of them."""
    survivor_series = {c.series_id for c in certificates if c.official_id == survivor_id}
    return [
        str(c.series) for c in certificates if c.official_id == other_id and c.series_id in survivor_series
    ]


def _shown(model_field, value) -> str:
    """A value as the comparison shows it: a choice's label, a related row's name, "" for none."""
    if value in ("", None):
        return ""
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


# --- the record of a merge -------------------------------------------------------------------


def _dump(objects) -> list:
    """Rows in full, as Django's serializer writes them (every field, foreign keys as ids)."""
    return json.loads(serializers.serialize("json", objects))


def _restore(dumped: list, *, user=None) -> list:
    """Insert rows dumped by _dump again, with their ids, as new saves (history rows, fresh
    `updated_at` so partners syncing by it see them), then put back their creation times."""
    restored = []
    for row, item in zip(dumped, serializers.deserialize("json", json.dumps(dumped)), strict=True):
        obj = item.object
        obj._history_user = user
        obj.save(force_insert=True)
        if "created_at" in row["fields"]:
            type(obj).objects.filter(pk=obj.pk).update(created_at=row["fields"]["created_at"])
        restored.append(obj)
    return restored


def record_fingerprint(official_id: int) -> str:
    """The state of an official's record: their row, enrolments, attendance, certificates and
    reminder ledger rows. Any change to one of them (a save stamps `updated_at`, attendance steps
    its version) changes it. Six queries."""
    enrollments = list(
        Enrollment.objects.filter(official_id=official_id)
        .order_by("pk")
        .values_list("pk", "status", "updated_at")
    )
    ids = [row[0] for row in enrollments]
    state = {
        "official": list(
            Official.objects.filter(pk=official_id).values_list(
                *MERGE_FIELDS, "updated_at", "reminders_opt_out_at"
            )
        ),
        "enrollments": enrollments,
        "attendance": list(
            Attendance.objects.filter(enrollment_id__in=ids)
            .order_by("pk")
            .values_list("pk", "enrollment_id", "status", "version", "updated_at")
        ),
        "certificates": list(
            Certificate.objects.filter(enrollment_id__in=ids)
            .order_by("pk")
            .values_list("pk", "enrollment_id")
        ),
        "deliveries": list(
            ReminderDelivery.objects.filter(official_id=official_id)
            .order_by("pk")
            .values_list("pk", "status")
        ),
    }
    series_certificates = list(
        Certificate.objects.filter(official_id=official_id).order_by("pk").values_list("pk", "series_id")
    )
    if series_certificates:
        # Only when there are any: the fingerprints of merges recorded before series certificates
        # existed stay the same, so those merges can still be undone.
        state["series_certificates"] = series_certificates
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def _history_attrs() -> dict:
    """The client's address for history rows written in bulk (no signal adds it there)."""
    address = history_ip_address()
    return {"ip_address": address} if address is not None else {}


def _save_in_bulk(model, rows: list, fields: list[str], user) -> None:
    """Write changed rows with one history row each (who, from where), as the services do."""
    if rows:
        bulk_update_with_history(
            rows, model, fields, default_user=user, custom_historical_attrs=_history_attrs()
        )


def _move(model, ids, *, now, user, **values) -> None:
    """Point rows `ids` of an audited model elsewhere (`values`), stamped and with history rows."""
    rows = list(model.objects.filter(pk__in=list(ids)).order_by("pk"))
    for row in rows:
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now  # a bulk update skips auto_now; partners' sync reads it
    _save_in_bulk(model, rows, [*values, "updated_at"], user)


def _touch_attendance(enrollment_ids: list[int], now, user) -> None:
    """Stamp the attendance of enrolments that changed hands: the API shows each row with its
    official, so partners must be told of every row (the change trigger fires on the update)."""
    ids = Attendance.objects.filter(enrollment_id__in=enrollment_ids).values_list("pk", flat=True)
    _move(Attendance, ids, now=now, user=user)


# History rows are rewritten, not audited themselves: which person a past change belongs to moves
# with the person's rows, and the merge record keeps the ids to move them back.
HistoricalOfficial = Official.history.model
HistoricalEnrollment = Enrollment.history.model


def _lock(official_ids: list[int]) -> dict[int, Official]:
    """Lock the officials in id order (two merges of one pair, either way round, cannot deadlock)."""
    return {
        official.pk: official
        for official in Official.objects.select_for_update().filter(pk__in=official_ids).order_by("pk")
    }


# --- merge -------------------------------------------------------------------------------------


@transaction.atomic
def official_merge(
    *,
    survivor_id: int,
    other_id: int,
    choices: dict[str, str] | None = None,
    keep: dict[int, int] | None = None,
    merged_by=None,
) -> OfficialMerge:
    """Merge official `other_id` into `survivor_id`; returns the record that allows undoing it.

    `choices` maps a field of MERGE_FIELDS to SURVIVOR or OTHER: whose value the survivor keeps
    (the survivor's when not named). `keep` maps the id of each course both are enrolled in to the
    id of the enrolment that survives; a course left out refuses the merge, naming it. Every check
    is made before the first write; a refusal (MergeRefused) changes nothing.
    """
    choices, keep = choices or {}, keep or {}
    _refuse_same(survivor_id, other_id)
    locked = _lock([survivor_id, other_id])
    for official_id in (survivor_id, other_id):
        if official_id not in locked:
            raise MergeRefused(_missing_message(official_id))
    survivor, other = locked[survivor_id], locked[other_id]
    unknown = set(choices) - set(MERGE_FIELDS)
    if unknown or set(choices.values()) - {SURVIVOR, OTHER}:
        raise MergeRefused(_("Choose, for each field, the value of one of the two officials."))

    enrollments = list(
        Enrollment.objects.select_for_update()
        .filter(official_id__in=[survivor_id, other_id])
        .select_related("course")
        .order_by("pk")
    )
    by_course: dict[int, dict[int, Enrollment]] = {}
    for enrollment in enrollments:
        by_course.setdefault(enrollment.course_id, {})[enrollment.official_id] = enrollment
    conflicts = {course_id: pair for course_id, pair in by_course.items() if len(pair) == 2}
    unresolved = [
        str(pair[survivor_id].course)
        for course_id, pair in conflicts.items()
        if keep.get(course_id) not in (pair[survivor_id].pk, pair[other_id].pk)
    ]
    if unresolved:
        raise MergeRefused(
            _("Both officials are enrolled in %(courses)s: choose which enrolment to keep in each.")
            % {"courses": "; ".join(unresolved)}
        )
    certificates = {
        c.enrollment_id: c for c in Certificate.objects.filter(enrollment__in=[e.pk for e in enrollments])
    }
    for course_id, pair in conflicts.items():
        kept_id = keep[course_id]
        dropped = pair[other_id] if pair[survivor_id].pk == kept_id else pair[survivor_id]
        if dropped.pk in certificates and kept_id in certificates:
            raise MergeRefused(
                _(
                    "Both enrolments in %(course)s have a certificate: merging would void one of them. "
                    "Nothing was changed."
                )
                % {"course": pair[survivor_id].course}
            )

    # Series certificates name the official: the other's go to the survivor, unless both hold one
    # of the same series (one would be void, as with two course certificates above).
    series_certificates = list(
        Certificate.objects.select_for_update(of=("self",))
        .filter(official_id__in=[survivor_id, other_id])
        .select_related("series")
        .order_by("pk")
    )
    both = _series_held_by_both(series_certificates, survivor_id, other_id)
    if both:
        raise MergeRefused(
            _(
                "Both officials have a certificate of the series %(series)s: merging would void one of "
                "them. Nothing was changed."
            )
            % {"series": "; ".join(both)}
        )

    now = timezone.now()
    moved: dict[str, list] = {
        "series_certificates": [c.pk for c in series_certificates if c.official_id == other_id],
        "enrollments": [],
        "attendance": {},
        "certificates": {},
        "deliveries": [],
        "official_history": [],
        "enrollment_history": [],
        "removed_enrollments": [],
        "removed_attendance": [],
        "removed_deliveries": [],
    }
    survivor_before = _dump([survivor])

    # Ids now: a deleted instance forgets its own.
    enrollment_owners = [(e.pk, e.official_id) for e in enrollments]
    # Conflicts first: the dropped enrolment's marks join the kept one where it has none.
    dropped_ids = []
    for course_id, pair in conflicts.items():
        kept = pair[survivor_id] if pair[survivor_id].pk == keep[course_id] else pair[other_id]
        dropped = pair[other_id] if kept is pair[survivor_id] else pair[survivor_id]
        dropped_ids.append(dropped.pk)
        marks = list(Attendance.objects.select_for_update().filter(enrollment_id__in=[kept.pk, dropped.pk]))
        kept_sessions = {a.session_id for a in marks if a.enrollment_id == kept.pk}
        joining = [a for a in marks if a.enrollment_id == dropped.pk and a.session_id not in kept_sessions]
        leaving = [a for a in marks if a.enrollment_id == dropped.pk and a.session_id in kept_sessions]
        moved["removed_attendance"] += _dump(leaving)
        for attendance in leaving:
            attendance.delete()
        for attendance in joining:
            moved["attendance"][str(attendance.pk)] = dropped.pk
        _move(Attendance, [a.pk for a in joining], now=now, user=merged_by, enrollment=kept)
        certificate = certificates.get(dropped.pk)
        if certificate is not None:
            moved["certificates"][str(certificate.pk)] = dropped.pk
            Certificate.objects.filter(pk=certificate.pk).update(enrollment=kept)
        if kept.official_id == other_id:
            moved["enrollments"].append(kept.pk)
        moved["removed_enrollments"] += _dump([Enrollment.objects.get(pk=dropped.pk)])
        if dropped.official_id == other_id:
            # Its history rows go with the person, so the survivor's page still tells its story.
            moved["enrollment_history"] += list(
                Enrollment.history.filter(id=dropped.pk).values_list("history_id", flat=True)
            )
        dropped._history_user = merged_by
        dropped.delete()

    # The other's enrolments (with their attendance and certificates) become the survivor's.
    staying = [
        pk for pk, official_id in enrollment_owners if official_id == other_id and pk not in dropped_ids
    ]
    moved["enrollments"] = sorted(set(moved["enrollments"]) | set(staying))
    moved["enrollment_history"] += list(
        Enrollment.history.filter(id__in=moved["enrollments"], official_id=other_id).values_list(
            "history_id", flat=True
        )
    )
    HistoricalEnrollment.objects.filter(history_id__in=moved["enrollment_history"]).update(
        official_id=survivor_id
    )
    _move(Enrollment, moved["enrollments"], now=now, user=merged_by, official=survivor)
    _touch_attendance(moved["enrollments"], now, merged_by)

    # The reminder ledger: one row per official, session, kind and key; the survivor's row stays.
    deliveries = list(
        ReminderDelivery.objects.select_for_update().filter(official_id__in=[survivor_id, other_id])
    )
    held = {(d.session_id, d.kind, d.key) for d in deliveries if d.official_id == survivor_id}
    for delivery in deliveries:
        if delivery.official_id != other_id:
            continue
        if (delivery.session_id, delivery.kind, delivery.key) in held:
            moved["removed_deliveries"] += _dump([delivery])
            delivery.delete()
        else:
            moved["deliveries"].append(delivery.pk)
    ReminderDelivery.objects.filter(pk__in=moved["deliveries"]).update(official=survivor)
    Certificate.objects.filter(pk__in=moved["series_certificates"]).update(official=survivor)

    # The other's own history rows, then the other itself (its deletion row stays under its id).
    moved["official_history"] = list(
        Official.history.filter(id=other_id).values_list("history_id", flat=True)
    )
    HistoricalOfficial.objects.filter(history_id__in=moved["official_history"]).update(id=survivor_id)
    merged_data = _dump([other])
    merged_name = str(other)
    chosen = {name: getattr(other, name) for name, side in choices.items() if side == OTHER}
    if other.reminders_opt_out_at and not survivor.reminders_opt_out_at:
        # The person asked not to be sent reminders: that holds for the record that stays.
        chosen["reminders_opt_out_at"] = other.reminders_opt_out_at
    other._history_user = merged_by
    other.delete()
    DeletedRecord.objects.filter(resource="officials", object_id=other_id, replaced_by__isnull=True).update(
        replaced_by=survivor_id
    )

    # The chosen values, through the one door for an official's fields (validated, audited). Saved
    # even when nothing was chosen: the survivor's record changed, and partners hear of it.
    official_update(official=survivor, changed_by=merged_by, **chosen)
    # The figures' rollups of the survivor's enrolments (moved, merged, or their sex changed) and
    # of the sessions they were marked at.
    rollups.refresh_officials([survivor_id])

    return OfficialMerge.objects.create(
        survivor=survivor,
        merged_official_id=other_id,
        merged_name=merged_name[: OfficialMerge._meta.get_field("merged_name").max_length],
        merged_by=merged_by,
        merged_data=merged_data,
        survivor_before=survivor_before,
        moved=moved,
        fingerprint=record_fingerprint(survivor_id),
    )


# --- undo --------------------------------------------------------------------------------------

UNDO_CHANGED = gettext_lazy(
    "%(official)s's record changed after the merge (an edit, an enrolment, attendance or a reminder): "
    "undoing now would lose that change, so nothing was undone."
)


@transaction.atomic
def official_merge_undo(*, merge_id: int, undone_by=None) -> OfficialMerge:
    """Put back both officials as they were before merge `merge_id`; refused (MergeRefused,
    nothing written) once undone already or once the survivor's record changed since."""
    merge = OfficialMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise MergeRefused(_("This merge does not exist."))
    if merge.is_undone:
        raise MergeRefused(_("This merge was undone already."))
    locked = _lock([merge.survivor_id, merge.merged_official_id])
    if merge.survivor_id not in locked:
        raise MergeRefused(_missing_message(merge.survivor_id))
    if merge.merged_official_id in locked:
        raise MergeRefused(
            _("Official #%(id)s exists again: this merge cannot be undone.")
            % {"id": merge.merged_official_id}
        )
    survivor = locked[merge.survivor_id]
    # Hold the record still while it is compared and put back: a register write on one of its
    # enrolments waits for this transaction (its row lock, or the key lock a new row takes).
    enrollment_ids = list(
        Enrollment.objects.select_for_update()
        .filter(official=survivor)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        Attendance.objects.select_for_update()
        .filter(enrollment_id__in=enrollment_ids)
        .order_by("pk")
        .values_list("pk")
    )
    if record_fingerprint(survivor.pk) != merge.fingerprint:
        raise MergeRefused(UNDO_CHANGED % {"official": survivor})

    moved = merge.moved
    now = timezone.now()
    # The survivor's own values first: it may hold the e-mail the other record had.
    before = next(serializers.deserialize("json", json.dumps(merge.survivor_before))).object
    restored = {name: getattr(before, name) for name in (*MERGE_FIELDS, "reminders_opt_out_at")}
    official_update(official=survivor, changed_by=undone_by, **restored)
    [other] = _restore(merge.merged_data, user=undone_by)
    HistoricalOfficial.objects.filter(history_id__in=moved["official_history"]).update(id=other.pk)

    # Moved back before the removed enrolments return: a kept one may hold their course meanwhile.
    _move(Enrollment, moved["enrollments"], now=now, user=undone_by, official=other)
    _restore(moved["removed_enrollments"], user=undone_by)
    HistoricalEnrollment.objects.filter(history_id__in=moved["enrollment_history"]).update(
        official_id=other.pk
    )
    back = list(Attendance.objects.filter(pk__in=[int(pk) for pk in moved["attendance"]]).order_by("pk"))
    for attendance in back:
        attendance.enrollment_id = moved["attendance"][str(attendance.pk)]
        attendance.updated_at = now
    _save_in_bulk(Attendance, back, ["enrollment", "updated_at"], undone_by)
    _touch_attendance(moved["enrollments"], now, undone_by)
    _restore(moved["removed_attendance"], user=undone_by)
    for certificate_id, enrollment_id in moved["certificates"].items():
        Certificate.objects.filter(pk=int(certificate_id)).update(enrollment_id=enrollment_id)
    ReminderDelivery.objects.filter(pk__in=moved["deliveries"]).update(official=other)
    # Merges recorded before series certificates existed have no such list.
    Certificate.objects.filter(pk__in=moved.get("series_certificates", [])).update(official=other)
    _restore(moved["removed_deliveries"])

    # What exists again is no longer deleted: partners that have not yet read the tombstones must
    # not remove the rows they get again.
    DeletedRecord.objects.filter(resource="officials", object_id=other.pk).delete()
    DeletedRecord.objects.filter(
        resource="enrollments", object_id__in=[row["pk"] for row in moved["removed_enrollments"]]
    ).delete()
    DeletedRecord.objects.filter(
        resource="attendance", object_id__in=[row["pk"] for row in moved["removed_attendance"]]
    ).delete()

    rollups.refresh_officials([survivor.pk, other.pk])

    merge.undone_at = now
    merge.undone_by = undone_by
    merge.save(update_fields=["undone_at", "undone_by"])
    return merge
