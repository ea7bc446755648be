"""The officials list and one official's page: filters, order, pages, who sees contact data, queries."""

import pytest
from django.urls import reverse

from participants.models import ReminderDelivery
from participants.services import official_update
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    OfficialFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


def _names(response):
    return [official.pk for official in response.context["page"]]


def test_the_list_filters_by_ministry_sex_and_course(officer_client, chan, chan_again, misti, course_two):
    other = OfficialFactory(sex="male", ministry=misti)
    url = reverse("official_list")
    assert set(_names(officer_client.get(url))) == {chan.pk, chan_again.pk, other.pk}
    assert set(_names(officer_client.get(url, {"ministry": misti.pk}))) == {chan.pk, other.pk}
    assert _names(officer_client.get(url, {"ministry": misti.pk, "sex": "male"})) == [other.pk]
    assert _names(officer_client.get(url, {"course": course_two.pk})) == [chan_again.pk]


def test_the_list_sorts_by_enrolments_and_name(officer_client, chan, chan_again, course_two):
    EnrollmentFactory(official=chan, course=course_two)
    nobody = OfficialFactory(family_name="Aaa")
    url = reverse("official_list")
    assert _names(officer_client.get(url, {"order": "-enrolments"}))[0] == chan.pk
    assert _names(officer_client.get(url, {"order": "name"}))[0] == nobody.pk
    assert _names(officer_client.get(url, {"order": "-name"}))[-1] == nobody.pk


def test_the_list_reports_bad_filters_instead_of_failing(officer_client, chan):
    response = officer_client.get(
        reverse("official_list"), {"ministry": "999999", "order": "'; DROP", "page": "x"}
    )
    assert response.status_code == 200
    assert "This ministry does not exist." in response.content.decode()
    assert _names(response) == [chan.pk]  # the bad filters are not applied


def test_the_list_pages_in_a_constant_number_of_queries(staff_client, misti, django_assert_max_num_queries):
    for _ in range(120):
        OfficialFactory(ministry=misti)
    url = reverse("official_list")
    with django_assert_max_num_queries(12):
        first = staff_client.get(url)
    with django_assert_max_num_queries(12):
        last = staff_client.get(url, {"page": 3})
    assert len(first.context["page"]) == 50 and len(last.context["page"]) == 20
    assert 'rel="next"' in first.content.decode()


def test_contact_data_is_for_staff_only(staff_client, officer_client, chan):
    for client, shown in ((staff_client, True), (officer_client, False)):
        for url in (reverse("official_list"), reverse("official_detail", args=[chan.pk])):
            assert ("sophea@misti.gov.kh" in client.get(url).content.decode()) is shown, url


def test_the_page_shows_names_ministry_as_enrolled_attendance_and_history(
    staff_client, chan, mef, course_one, staff
):
    official_update(official=chan, ministry=mef, position="Director", changed_by=staff)
    ReminderDelivery.objects.create(
        official=chan, session=course_one.test_sessions[2], kind="reminder", key="48h@x"
    )
    response = staff_client.get(reverse("official_detail", args=[chan.pk]))
    text = response.content.decode()
    assert "ចាន់ សុភា" in text and "CHAN Sophea" in text
    assert "Ministry of Economy" in text  # today's ministry
    assert "Ministry of Industry" in text  # the enrolment keeps the ministry it was made with
    [record] = response.context["page"].enrolments
    assert [mark.status_label for mark in record.marks] == ["Present", "Present", ""]
    assert "Reminder" in text
    history = response.context["page"].history
    assert history[0].who == staff and "Director" in history[0].new


def test_an_unknown_official_is_404(officer_client):
    assert officer_client.get(reverse("official_detail", args=[987654])).status_code == 404


@pytest.mark.parametrize("enrolments", [1, 40])
def test_the_page_costs_the_same_queries_for_1_or_40_enrolments(
    staff_client, enrolments, django_assert_max_num_queries
):
    official = OfficialFactory()
    for _ in range(enrolments):
        enrollment = EnrollmentFactory(official=official, course=CourseFactory())
        AttendanceFactory(enrollment=enrollment, session=SessionFactory(course=enrollment.course))
    with django_assert_max_num_queries(14):
        response = staff_client.get(reverse("official_detail", args=[official.pk]))
    assert len(response.context["page"].enrolments) == enrolments
