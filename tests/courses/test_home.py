"""The public landing page shows the programme, the project and its four courses, citing sources."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_shows_the_pcp_the_project_and_four_courses(client, public_record):
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Programme for Country Partnership (PCP) Cambodia 2018–2023" in html
    assert "Support to the Royal Government of Cambodia" in html
    for number in (1, 2, 3, 4):
        assert f"Course {number}" in html
    assert "Standards and Quality Infrastructure (QI) for Innovation" in html
    assert "Kampong Thom" in html
    assert "not on public record" in html  # course 4 and the project number are unknown
    assert 'href="https://hub.unido.org/' in html  # facts cite their sources


def test_home_costs_a_fixed_number_of_queries(client, public_record, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        client.get(reverse("home"))


def test_dashboard_needs_a_log_in(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("who", ["staff", "officer", "superuser"])
def test_each_role_can_log_in_and_reach_the_dashboard(client, who, request, public_record):
    user = request.getfixturevalue(who)
    response = client.post(reverse("login"), {"username": user.username, "password": "correct horse battery"})
    assert response.status_code == 302
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert "Course 3" in dashboard.content.decode()


def test_home_marks_a_cancelled_course(client, public_record, staff):
    from courses.models import Course
    from courses.services import course_cancel

    course_cancel(course=Course.objects.get(number=4), reason="Not held", changed_by=staff)
    html = client.get(reverse("home")).content.decode()
    card = html[html.index("Course 4") :]
    assert 'class="badge cancelled">Cancelled<' in card[:200]
