"""Checking in by oneself: the search over the session's officials, the mark it makes (present or
late, through the register's service, with its history), the refusals, undo and walk-ins."""

import datetime

import pytest
from django.utils import timezone

from courses.services import session_cancel
from participants import services as register
from participants.checkin import selectors, services
from participants.models import Attendance, Enrollment, Official, SelfCheckIn, WalkIn
from participants.selectors import attendance_history, register_for_session

pytestmark = pytest.mark.django_db


def names(session, query):
    matches, _more = selectors.enrolled_matches(session, query)
    return [enrollment.official.full_name for enrollment in matches]


# --- the search ---


def test_the_search_finds_an_enrolled_official_by_a_latin_name_in_any_order_and_case(session, dara, outsider):
    assert names(session, "sok dara") == ["SOK Dara"]
    assert names(session, "DARA SOK") == ["SOK Dara"]


def test_the_search_finds_khmer_names_with_or_without_spaces(session, dara, sreymom):
    assert names(session, "ស្រីមុំ") == ["ចាន់ ស្រីមុំ"]
    assert names(session, "សុខដារ៉ា") == ["SOK Dara"]


def test_the_search_finds_a_phone_typed_with_khmer_digits_or_spaces(session, dara, sreymom):
    assert names(session, "០១២ ៣៤៥ ៦៧៨") == ["SOK Dara"]
    assert names(session, "97 111 2222") == ["ចាន់ ស្រីមុំ"]
    assert names(session, "+855 12 345678") == ["SOK Dara"]


def test_the_search_leaves_out_other_courses_and_withdrawn_officials(session, dara, withdrawn, outsider):
    assert names(session, "sok") == ["SOK Dara"]  # not SOK Dalin of another course
    assert names(session, "vanna") == []


def test_the_search_needs_three_characters(session, dara):
    assert names(session, "so") == []
    assert names(session, "០១") == []


def test_the_search_shows_at_most_five_and_says_there_are_more(session, ministry):
    from tests.factories import EnrollmentFactory

    for n in range(7):
        EnrollmentFactory(course=session.course, official__family_name="Chan", official__given_name=f"Sok{n}")
    matches, more = selectors.enrolled_matches(session, "chan")
    assert len(matches) == selectors.SEARCH_MAX_RESULTS
    assert more


# --- checking in ---


def test_checking_in_within_the_grace_marks_present_with_no_user_and_a_reason(session, dara):
    check_in = services.self_check_in(session=session, enrollment_id=dara.pk, ip_address="10.0.0.7")
    attendance = Attendance.objects.get(session=session, enrollment=dara)
    assert (attendance.status, attendance.recorded_by, attendance.version) == ("present", None, 1)
    assert (check_in.status, check_in.version, check_in.previous_version) == ("present", 1, 0)
    [entry] = attendance_history(session)
    assert entry.who_label == "self check-in"
    assert entry.new == "Present"
    assert attendance.history.get().history_change_reason == "self-check-in"
    [row] = register_for_session(session).rows
    assert row.recorded_by == "self check-in"


def test_arriving_after_the_grace_marks_late(session, dara, settings):
    settings.PCP_CHECK_IN_LATE_AFTER_MINUTES = 15
    check_in = services.self_check_in(
        session=session, enrollment_id=dara.pk, now=session.starts_at + datetime.timedelta(minutes=16)
    )
    assert check_in.status == Attendance.objects.get(enrollment=dara).status == "late"
    assert selectors.arrival_status(session, session.starts_at + datetime.timedelta(minutes=15)) == "present"


def test_a_second_check_in_is_refused_with_the_time_of_the_first(session, dara):
    first = services.self_check_in(session=session, enrollment_id=dara.pk)
    with pytest.raises(services.CheckInRefused) as refused:
        services.self_check_in(session=session, enrollment_id=dara.pk)
    assert refused.value.code == "already"
    assert (
        f"already checked in at {timezone.localtime(first.checked_in_at):%H:%M}" in refused.value.messages[0]
    )
    assert SelfCheckIn.objects.count() == 1
    assert Attendance.objects.get(enrollment=dara).version == 1


def test_someone_staff_already_marked_present_is_told_so(session, dara, staff):
    register.attendance_record(enrollment=dara, session=session, status="present", recorded_by=staff)
    with pytest.raises(services.CheckInRefused) as refused:
        services.self_check_in(session=session, enrollment_id=dara.pk)
    assert refused.value.code == "already"
    assert not SelfCheckIn.objects.exists()


@pytest.mark.parametrize(("who", "code"), [("withdrawn", "withdrawn"), ("outsider", "not_enrolled")])
def test_withdrawn_and_unenrolled_officials_cannot_check_in(request, session, who, code):
    enrollment = request.getfixturevalue(who)
    with pytest.raises(services.CheckInRefused) as refused:
        services.self_check_in(session=session, enrollment_id=enrollment.pk)
    assert refused.value.code == code
    assert not Attendance.objects.exists()


def test_a_cancelled_session_refuses_check_in(session, dara, staff):
    session_cancel(session=session, reason="flood", changed_by=staff)
    session.refresh_from_db()
    with pytest.raises(services.CheckInRefused) as refused:
        services.self_check_in(session=session, enrollment_id=dara.pk)
    assert refused.value.code == "closed"
    assert "cancelled" in refused.value.messages[0]


def test_check_in_opens_an_hour_before_and_closes_at_the_end(session, dara, settings):
    settings.PCP_CHECK_IN_OPENS_MINUTES = 60
    early = session.starts_at - datetime.timedelta(minutes=61)
    assert "opens at" in selectors.check_in_refusal(session, early)
    assert selectors.check_in_refusal(session, session.starts_at - datetime.timedelta(minutes=59)) is None
    assert "over" in selectors.check_in_refusal(session, session.ends_at + datetime.timedelta(seconds=1))


# --- undo ---


def test_undo_of_a_first_mark_removes_it_and_says_so_in_the_history(session, dara, staff):
    check_in = services.self_check_in(session=session, enrollment_id=dara.pk)
    services.self_check_in_undo(check_in=check_in, undone_by=staff)
    assert not Attendance.objects.filter(enrollment=dara).exists()
    check_in.refresh_from_db()
    assert check_in.undone_by == staff
    latest = attendance_history(session)[0]
    assert (latest.change, latest.who) == ("-", staff)
    # Undone, the official may check in again.
    services.self_check_in(session=session, enrollment_id=dara.pk)


def test_undo_brings_back_an_earlier_mark(session, dara, staff):
    register.attendance_record(
        enrollment=dara, session=session, status="absent", note="no news", recorded_by=staff
    )
    check_in = services.self_check_in(session=session, enrollment_id=dara.pk)
    assert check_in.previous_status == "absent"
    services.self_check_in_undo(check_in=check_in, undone_by=staff)
    attendance = Attendance.objects.get(enrollment=dara)
    assert (attendance.status, attendance.note, attendance.version) == ("absent", "no news", 3)
    assert [entry.new for entry in attendance_history(session)] == [
        "Absent — no news",
        "Present — no news",  # a check-in keeps the note staff wrote
        "Absent — no news",
    ]


def test_undo_is_refused_once_staff_changed_the_mark(session, dara, staff):
    check_in = services.self_check_in(session=session, enrollment_id=dara.pk)
    register.attendance_record(enrollment=dara, session=session, status="excused", recorded_by=staff)
    with pytest.raises(services.CheckInRefused) as refused:
        services.self_check_in_undo(check_in=check_in, undone_by=staff)
    assert refused.value.code == "changed"
    assert Attendance.objects.get(enrollment=dara).status == "excused"


# --- walk-ins ---


def test_a_walk_in_is_listed_for_staff_and_not_enrolled(session, ministry):
    walk_in = services.walk_in_create(
        session=session, name="Ouk Sreypov", ministry=ministry, phone="០៩៧ ២២២ ៣៣៣៣"
    )
    assert list(selectors.pending_walk_ins(session)) == [walk_in]
    assert not Enrollment.objects.filter(course=session.course).exists()
    with pytest.raises(services.CheckInRefused) as refused:
        services.walk_in_create(session=session, name="Ouk S.", ministry=ministry, phone="097222 3333")
    assert refused.value.code == "already"


def test_a_walk_in_needs_a_name_and_a_phone(session, ministry):
    with pytest.raises(services.CheckInRefused):
        services.walk_in_create(session=session, name=" ", ministry=ministry, phone="097222333")
    with pytest.raises(services.CheckInRefused):
        services.walk_in_create(session=session, name="Ouk", ministry=ministry, phone="12")
    assert not WalkIn.objects.exists()


def test_confirming_a_walk_in_enrols_and_marks_them(session, ministry, staff):
    walk_in = services.walk_in_create(
        session=session, name="Ouk Sreypov", ministry=ministry, phone="097 222 3333"
    )
    enrollment = services.walk_in_confirm(walk_in=walk_in, confirmed_by=staff)
    official = enrollment.official
    assert (official.family_name, official.given_name, official.phone) == ("Ouk", "Sreypov", "097 222 3333")
    assert enrollment.ministry_name_en == "Ministry of Commerce"
    attendance = Attendance.objects.get(enrollment=enrollment, session=session)
    assert (attendance.status, attendance.recorded_by) == ("present", staff)
    walk_in.refresh_from_db()
    assert (walk_in.status, walk_in.official, walk_in.decided_by) == ("confirmed", official, staff)
    with pytest.raises(services.CheckInRefused):
        services.walk_in_confirm(walk_in=walk_in, confirmed_by=staff)


def test_a_walk_in_with_a_known_phone_is_that_official_and_a_khmer_name_stays_khmer(
    session, ministry, outsider, staff
):
    outsider.official.phone = "+855 11 222 333"
    outsider.official.save()
    walk_in = services.walk_in_create(session=session, name="សុខ ដាលីន", ministry=ministry, phone="011222333")
    enrollment = services.walk_in_confirm(walk_in=walk_in, confirmed_by=staff)
    assert enrollment.official == outsider.official
    assert Official.objects.count() == 1
    other = services.walk_in_create(session=session, name="ហេង សុផល", ministry=ministry, phone="010 999 888")
    assert services.walk_in_confirm(walk_in=other, confirmed_by=staff).official.name_km == "ហេង សុផល"


def test_dismissing_a_walk_in_enrols_nobody(session, ministry, staff):
    walk_in = services.walk_in_create(
        session=session, name="Ouk Sreypov", ministry=ministry, phone="097 222 3333"
    )
    services.walk_in_dismiss(walk_in=walk_in, dismissed_by=staff)
    walk_in.refresh_from_db()
    assert walk_in.status == "dismissed"
    assert not Enrollment.objects.exists()
    assert list(selectors.pending_walk_ins(session)) == []
