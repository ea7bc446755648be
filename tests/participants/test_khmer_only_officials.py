"""An official may have a name in Khmer script only: every door takes them, every page names them."""

import pytest
from django.urls import reverse

from participants import reminders
from participants.certificates import certificates_issue_for_course
from participants.imports.apply import apply_import
from participants.imports.plan import preview_import
from participants.models import Enrollment, Official, ReminderDelivery
from participants.services import attendance_record, enrollment_create, official_create
from tests.factories import CourseFactory, MinistryFactory, SessionFactory

pytestmark = pytest.mark.django_db

KHMER = "ចាន់ សុភា"


def walk_in(client, course, **fields):
    data = {"sex": "female", "ministry": MinistryFactory().pk, "preferred_language": "km", **fields}
    return client.post(reverse("walk_in", args=[course.pk]), data)


def test_a_khmer_only_walk_in_is_created_and_enrolled(staff_client):
    course = CourseFactory()

    response = walk_in(staff_client, course, name_km=KHMER)

    assert response.status_code == 302, response.context["walk_in_form"].errors
    official = Official.objects.get(name_km=KHMER)
    assert (official.family_name, official.given_name) == ("", "")
    assert official.full_name == str(official) == KHMER
    assert Enrollment.objects.filter(official=official, course=course).exists()


def test_a_walk_in_without_any_name_is_told_to_give_one_in_either_script(staff_client):
    course = CourseFactory()

    response = walk_in(staff_client, course, email="nameless@example.gov.kh")

    assert response.status_code == 400
    assert response.context["walk_in_form"].errors == {
        "family_name": ["Give a name in Latin or Khmer script."]
    }
    assert not Official.objects.exists()


def test_the_services_and_the_admin_take_a_khmer_only_official(superuser_client):
    ministry = MinistryFactory()
    official = official_create(name_km=KHMER, ministry=ministry)
    response = superuser_client.post(
        reverse("admin:participants_official_add"),
        {"name_km": "សុខ ដារ៉ា", "sex": "male", "ministry": ministry.pk, "preferred_language": "km"},
    )

    assert official.pk and official.full_name == KHMER
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Official.objects.get(name_km="សុខ ដារ៉ា").family_name == ""


@pytest.mark.parametrize("kind", ["officials", "enrolments"])
def test_an_import_row_with_only_a_khmer_name_creates_a_new_official(staff, public_record, kind):
    course = CourseFactory()
    data = "Ministry,Name in Khmer,Sex\nMISTI,ចាន់ សុភា,F\nMISTI,,F\n".encode()
    context = {"course": course} if kind == "enrolments" else {}

    batch = preview_import(kind=kind, filename="khmer.csv", data=data, user=staff, **context)

    assert [row["action"] for row in batch.rows] == ["create", "error"]
    assert batch.rows[1]["reason"] == (
        "Row 3, column “Name in Khmer”, “”: no name. Give the family and given names, or the full name "
        "in Khmer."
    )
    # The nameless row refuses the whole file; drop it as a person would.
    batch.plan_rows.filter(action="error").delete()
    batch.counts["error"] = 0
    batch.save()
    apply_import(batch=batch, user=staff)
    official = Official.objects.get(name_km=KHMER)
    assert official.full_name == KHMER
    assert Enrollment.objects.filter(official=official).exists() == (kind == "enrolments")


def test_a_khmer_only_official_is_named_once_on_the_pages_e_mails_and_certificates(staff_client):
    course = CourseFactory()
    official = official_create(name_km=KHMER, ministry=MinistryFactory(), email="sophea@example.gov.kh")
    official.preferred_language = "en"
    official.save()
    enrollment = enrollment_create(official=official, course=course)
    session = SessionFactory(course=course)
    attendance_record(enrollment=enrollment, session=session, status="present")

    register = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    course_page = staff_client.get(reverse("course_detail", args=[course.pk])).content.decode()
    certificate = certificates_issue_for_course(course=course)[0]
    verify = staff_client.get(reverse("certificate_verify_code", args=[certificate.code])).content.decode()

    header = f'id="official-{enrollment.pk}"><span class="name-latin" lang="km">{KHMER}</span></th>'
    assert header in register  # named once, in Khmer script, not twice
    assert f'<th scope="row"><span lang="km">{KHMER}</span></th>' in course_page  # read with a Khmer voice
    assert (certificate.holder_name, certificate.holder_name_km) == (KHMER, KHMER)
    assert verify.count(KHMER) == 1
    row = ReminderDelivery.objects.create(official=official, session=session, kind="reminder", key="48h@x")
    assert reminders.message_context(row)["name"] == KHMER
