"""Merging two records of one person, and undoing it: what moves, conflicts, refusals, the record."""

import pytest

from participants.merging import OTHER, MergeRefused, official_merge, official_merge_undo
from participants.models import Attendance, Certificate, Enrollment, Official, OfficialMerge, ReminderDelivery
from participants.services import official_update
from pcp_portal.models import DeletedRecord
from tests.factories import AttendanceFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


def _state():
    """Everything a merge touches, as plain values, to compare before and after an undo."""
    return {
        "officials": sorted(
            Official.objects.values_list(
                "pk", "family_name", "given_name", "name_km", "email", "phone", "ministry_id"
            )
        ),
        "enrollments": sorted(
            Enrollment.objects.values_list(
                "pk", "official_id", "course_id", "status", "ministry_name_en", "position"
            )
        ),
        "attendance": sorted(
            Attendance.objects.values_list("pk", "enrollment_id", "session_id", "status", "version")
        ),
        "certificates": sorted(Certificate.objects.values_list("pk", "enrollment_id", "code")),
        "deliveries": sorted(ReminderDelivery.objects.values_list("pk", "official_id", "session_id", "key")),
    }


def _history():
    """{history row: whose} for the officials' and enrolments' history rows (merges and undos add rows
    of their own, the audit trail of what they did; the rows that were there go back where they were)."""
    return {
        "official": dict(Official.history.values_list("history_id", "id")),
        "enrollment": dict(Enrollment.history.values_list("history_id", "official_id")),
    }


def _same_history(before, after):
    return all(after[kind][key] == value for kind in before for key, value in before[kind].items())


def test_a_merge_moves_enrolments_attendance_and_history_and_keeps_the_snapshot(
    chan, chan_again, staff, course_two
):
    before = Enrollment.objects.get(official=chan_again)
    history = Official.history.filter(id=chan_again.pk).count()
    merge = official_merge(
        survivor_id=chan.pk,
        other_id=chan_again.pk,
        choices={"phone": OTHER, "position": OTHER},
        merged_by=staff,
    )
    assert not Official.objects.filter(pk=chan_again.pk).exists()
    chan.refresh_from_db()
    assert (
        chan.phone == "+855 12 345 678" and chan.position == "Officer" and chan.email == "sophea@misti.gov.kh"
    )
    moved = Enrollment.objects.get(pk=before.pk)
    assert moved.official_id == chan.pk
    assert moved.ministry_name_en == "Ministry of Economy"  # the ministry it was made with
    assert Attendance.objects.filter(enrollment__official=chan).count() == 2 + 2
    assert Official.history.filter(id=chan.pk).count() >= history + 1
    assert Enrollment.history.filter(official_id=chan_again.pk).count() == 0
    assert merge.merged_by == staff and merge.moved["enrollments"] == [before.pk]
    assert chan.history.first().history_user == staff  # the survivor's change is audited
    tombstone = DeletedRecord.objects.get(resource="officials", object_id=chan_again.pk)
    assert tombstone.replaced_by == chan.pk


def test_undo_restores_both_records_exactly(chan, chan_again, staff, course_two):
    ReminderDelivery.objects.create(
        official=chan_again, session=course_two.test_sessions[0], kind="reminder", key="k"
    )
    before, history = _state(), _history()
    merge = official_merge(
        survivor_id=chan.pk, other_id=chan_again.pk, choices={"phone": OTHER}, merged_by=staff
    )
    assert _state() != before and not _same_history(history, _history())
    official_merge_undo(merge_id=merge.pk, undone_by=staff)
    assert _state() == before and _same_history(history, _history())
    assert not DeletedRecord.objects.filter(resource="officials", object_id=chan_again.pk).exists()
    merge.refresh_from_db()
    assert merge.is_undone and merge.undone_by == staff
    with pytest.raises(MergeRefused, match="undone already"):
        official_merge_undo(merge_id=merge.pk, undone_by=staff)


def test_a_conflict_must_be_resolved_before_anything_is_written(chan, chan_again, staff, course_one):
    # The duplicate was also enrolled in course 1 and marked at its third session.
    duplicate = EnrollmentFactory(official=chan_again, course=course_one)
    AttendanceFactory(enrollment=duplicate, session=course_one.test_sessions[0], status="absent")
    AttendanceFactory(enrollment=duplicate, session=course_one.test_sessions[2], status="present")
    before = _state()
    with pytest.raises(MergeRefused, match="choose which enrolment to keep"):
        official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    with pytest.raises(MergeRefused, match="choose which enrolment to keep"):
        official_merge(
            survivor_id=chan.pk, other_id=chan_again.pk, keep={course_one.pk: 999999}, merged_by=staff
        )
    assert _state() == before

    kept = Enrollment.objects.get(official=chan, course=course_one)
    merge = official_merge(
        survivor_id=chan.pk, other_id=chan_again.pk, keep={course_one.pk: kept.pk}, merged_by=staff
    )
    assert not Enrollment.objects.filter(pk=duplicate.pk).exists()
    # The kept enrolment keeps its own marks and gains the one it lacked.
    marks = dict(Attendance.objects.filter(enrollment=kept).values_list("session_id", "status"))
    assert marks == {s.pk: "present" for s in course_one.test_sessions}
    official_merge_undo(merge_id=merge.pk, undone_by=staff)
    assert _state() == before


def test_the_other_enrolment_may_be_the_one_kept(chan, chan_again, staff, course_one):
    duplicate = EnrollmentFactory(official=chan_again, course=course_one)
    before = _state()
    merge = official_merge(
        survivor_id=chan.pk, other_id=chan_again.pk, keep={course_one.pk: duplicate.pk}, merged_by=staff
    )
    assert Enrollment.objects.get(pk=duplicate.pk).official_id == chan.pk
    assert Attendance.objects.filter(enrollment=duplicate).count() == 2  # the dropped one's marks joined it
    official_merge_undo(merge_id=merge.pk, undone_by=staff)
    assert _state() == before


def test_merging_an_official_into_themselves_is_refused(chan, staff):
    with pytest.raises(MergeRefused, match="into themselves"):
        official_merge(survivor_id=chan.pk, other_id=chan.pk, merged_by=staff)


def test_merging_into_a_deleted_or_merged_official_is_refused(chan, chan_again, staff):
    official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    before = _state()
    for survivor, other in ((chan_again.pk, chan.pk), (chan.pk, chan_again.pk), (chan.pk, 987654)):
        with pytest.raises(MergeRefused, match="no longer exists"):
            official_merge(survivor_id=survivor, other_id=other, merged_by=staff)
    assert _state() == before
    assert OfficialMerge.objects.count() == 1


def test_a_bad_field_choice_is_refused(chan, chan_again, staff):
    with pytest.raises(MergeRefused):
        official_merge(
            survivor_id=chan.pk, other_id=chan_again.pk, choices={"is_demo": OTHER}, merged_by=staff
        )
    with pytest.raises(MergeRefused):
        official_merge(
            survivor_id=chan.pk, other_id=chan_again.pk, choices={"phone": "both"}, merged_by=staff
        )
    assert Official.objects.filter(pk=chan_again.pk).exists()


def test_undo_is_refused_once_the_record_changed(chan, chan_again, staff, course_one):
    merge = official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    chan.refresh_from_db()
    official_update(official=chan, position="Director", changed_by=staff)
    with pytest.raises(MergeRefused, match="changed after the merge"):
        official_merge_undo(merge_id=merge.pk, undone_by=staff)
    assert not Official.objects.filter(pk=chan_again.pk).exists()
    merge.refresh_from_db()
    assert not merge.is_undone


def test_undo_is_refused_after_new_attendance(chan, chan_again, staff, course_one):
    merge = official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    enrollment = Enrollment.objects.get(official=chan, course=course_one)
    AttendanceFactory(enrollment=enrollment, session=course_one.test_sessions[2], status="late")
    with pytest.raises(MergeRefused, match="changed after the merge"):
        official_merge_undo(merge_id=merge.pk, undone_by=staff)


def test_an_edit_cannot_bring_back_a_merged_official(chan, chan_again, staff):
    stale = Official.objects.get(pk=chan_again.pk)
    official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    with pytest.raises(Exception, match="no longer exists"):
        official_update(official=stale, position="Back again", changed_by=staff)
    assert not Official.objects.filter(pk=chan_again.pk).exists()


def test_an_opt_out_of_reminders_holds_for_the_survivor_until_undone(chan, chan_again, staff):
    from django.utils import timezone

    Official.objects.filter(pk=chan_again.pk).update(reminders_opt_out_at=timezone.now())
    merge = official_merge(survivor_id=chan.pk, other_id=chan_again.pk, merged_by=staff)
    assert Official.objects.get(pk=chan.pk).reminders_opt_out_at is not None
    official_merge_undo(merge_id=merge.pk, undone_by=staff)
    assert Official.objects.get(pk=chan.pk).reminders_opt_out_at is None
    assert Official.objects.get(pk=chan_again.pk).reminders_opt_out_at is not None
