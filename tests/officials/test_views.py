"""Editing, merging and undoing through the pages: what an editor sees and what is refused."""

import pytest
from django.urls import reverse

from participants.models import Enrollment, Official, OfficialMerge

pytestmark = pytest.mark.django_db


def test_an_edit_is_saved_audited_and_leaves_the_enrolments_as_they_were(staff_client, staff, chan, mef):
    url = reverse("official_edit", args=[chan.pk])
    form = staff_client.get(url).context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(ministry=mef.pk, position="Director General", department="")
    response = staff_client.post(url, data)
    assert response.status_code == 302
    chan.refresh_from_db()
    assert chan.ministry == mef and chan.position == "Director General"
    assert chan.history.first().history_user == staff and chan.history.first().ip_address == "127.0.0.1"
    enrollment = Enrollment.objects.get(official=chan)
    assert enrollment.ministry_name_en == "Ministry of Industry" and enrollment.position == "Deputy Director"


def test_an_edit_with_a_taken_email_or_no_name_is_refused(staff_client, chan, chan_again):
    url = reverse("official_edit", args=[chan_again.pk])
    form = staff_client.get(url).context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    response = staff_client.post(url, {**data, "email": "SOPHEA@misti.gov.kh"})
    assert response.status_code == 400
    response = staff_client.post(url, {**data, "family_name": "", "given_name": "", "name_km": ""})
    assert (
        response.status_code == 400 and "Give a name in Latin or Khmer script." in response.content.decode()
    )
    chan_again.refresh_from_db()
    assert chan_again.email == "" and chan_again.family_name == "Chan"


def test_the_comparison_shows_both_and_the_conflict(staff_client, chan, chan_again, course_one):
    from tests.factories import EnrollmentFactory

    EnrollmentFactory(official=chan_again, course=course_one)
    response = staff_client.get(reverse("official_merge"), {"survivor": chan.pk, "other": chan_again.pk})
    text = response.content.decode()
    assert response.status_code == 200
    assert "Sopheak" in text and "+855 12 345 678" in text and "Ministry of Economy" in text
    assert f'name="keep_{course_one.pk}"' in text
    # Posting without choosing the enrolment: shown again, nothing written.
    response = staff_client.post(reverse("official_merge"), {"survivor": chan.pk, "other": chan_again.pk})
    assert response.status_code == 400
    assert "Choose which enrolment stays in this course." in response.content.decode()
    assert Official.objects.filter(pk=chan_again.pk).exists()


def test_merge_and_undo_through_the_pages(staff_client, chan, chan_again):
    data = {"survivor": chan.pk, "other": chan_again.pk, "field_phone": "other"}
    for name, *_values in staff_client.get(reverse("official_merge"), data).context["comparison"].fields:
        data.setdefault(f"field_{name}", "survivor")
    response = staff_client.post(reverse("official_merge"), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("official_detail", args=[chan.pk])
    assert "was merged into" in response.content.decode()
    assert Official.objects.get(pk=chan.pk).phone == "+855 12 345 678"
    merge = OfficialMerge.objects.get()
    response = staff_client.post(reverse("official_merge_undo", args=[merge.pk]), follow=True)
    assert "The merge was undone" in response.content.decode()
    assert Official.objects.get(pk=chan_again.pk).phone == "+855 12 345 678"
    assert Official.objects.get(pk=chan.pk).phone == "012 345 678"
    # A second undo (another tab): refused, said plainly.
    response = staff_client.post(reverse("official_merge_undo", args=[merge.pk]), follow=True)
    assert "This merge was undone already." in response.content.decode()


@pytest.mark.parametrize(
    ("survivor", "other", "message"),
    [
        ("self", "self", "cannot be merged into themselves"),
        ("self", 987654, "no longer exists"),
        ("self", "-1", "Ensure this value is greater than or equal to 1."),
        ("self", "1e400", "Enter a whole number."),
    ],
)
def test_bad_merge_requests_are_refused_plainly(staff_client, chan, survivor, other, message):
    survivor = chan.pk if survivor == "self" else survivor
    other = chan.pk if other == "self" else other
    for method in ("get", "post"):
        response = getattr(staff_client, method)(
            reverse("official_merge"), {"survivor": survivor, "other": other}
        )
        assert response.status_code == 400, method
        assert message in response.content.decode(), method
    assert Official.objects.filter(pk=chan.pk).exists()


def test_officers_cannot_edit_or_merge(officer_client, chan, chan_again):
    assert officer_client.post(reverse("official_edit", args=[chan.pk]), {"position": "x"}).status_code == 403
    response = officer_client.post(reverse("official_merge"), {"survivor": chan.pk, "other": chan_again.pk})
    assert response.status_code == 403
    assert Official.objects.count() == 2
