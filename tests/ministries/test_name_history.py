"""Ministries keep their dated names: old records show the name valid at the time."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from ministries.models import Ministry
from ministries.services import ministry_rename
from participants.services import enrollment_create
from tests.factories import CourseFactory, MinistryFactory, OfficialFactory

pytestmark = pytest.mark.django_db


def test_2019_enrolment_still_shows_ministry_of_industry_and_handicraft(public_record):
    misti = Ministry.objects.get(code="misti")
    official = OfficialFactory(ministry=misti, position="Deputy Director")
    course = CourseFactory(start_date=datetime.date(2019, 7, 16), end_date=datetime.date(2019, 7, 19))
    enrollment = enrollment_create(official=official, course=course, enrolled_on=datetime.date(2019, 7, 1))
    later = enrollment_create(
        official=OfficialFactory(ministry=misti),
        course=CourseFactory(),
        enrolled_on=datetime.date(2021, 5, 1),
    )

    # The official is promoted later; the enrolment keeps what was true in 2019.
    official.position = "Director"
    official.save()
    enrollment.refresh_from_db()

    assert enrollment.ministry_name_en == "Ministry of Industry and Handicraft"
    assert enrollment.ministry_acronym == "MIH"
    assert enrollment.ministry_name_km == "ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម"
    assert enrollment.position == "Deputy Director"
    assert later.ministry_name_en == "Ministry of Industry, Science, Technology and Innovation"
    assert enrollment.ministry_id == later.ministry_id == misti.pk


def test_name_on_a_date_follows_the_rename_of_26_march_2020(public_record):
    misti = Ministry.objects.prefetch_related("former_names").get(code="misti")
    assert misti.display_name_on(datetime.date(2020, 2, 25)) == "Ministry of Industry and Handicraft"
    assert misti.display_name_on(datetime.date(2020, 3, 25)) == "Ministry of Industry and Handicraft"
    assert (
        misti.display_name_on(datetime.date(2020, 3, 26))
        == "Ministry of Industry, Science, Technology and Innovation"
    )
    assert misti.acronym_on(datetime.date(2019, 10, 3)) == "MIH"
    assert misti.display_name_on(datetime.date(2019, 10, 3), "km") == "ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម"


def test_rename_keeps_the_old_name_with_its_dates_and_never_rewrites_enrolments():
    ministry = MinistryFactory(name_en="Ministry of Old Name", acronym="MON")
    official = OfficialFactory(ministry=ministry)
    old = enrollment_create(official=official, course=CourseFactory(), enrolled_on=datetime.date(2022, 1, 1))

    ministry_rename(
        ministry=ministry,
        name_en="Ministry of New Name",
        acronym="MNN",
        effective_on=datetime.date(2023, 10, 5),
    )

    old.refresh_from_db()
    ministry.refresh_from_db()
    assert old.ministry_name_en == "Ministry of Old Name"
    assert ministry.name_en == "Ministry of New Name"
    assert ministry.display_name_on(datetime.date(2023, 10, 4)) == "Ministry of Old Name"
    assert ministry.display_name_on(datetime.date(2023, 10, 5)) == "Ministry of New Name"


def test_rename_dated_before_the_previous_one_is_refused_and_changes_nothing():
    ministry = MinistryFactory(name_en="Ministry A")
    ministry_rename(ministry=ministry, name_en="Ministry B", effective_on=datetime.date(2020, 1, 1))
    with pytest.raises(ValidationError):
        ministry_rename(ministry=ministry, name_en="Ministry C", effective_on=datetime.date(2019, 1, 1))
    ministry.refresh_from_db()
    assert ministry.name_en == "Ministry B"
    assert ministry.former_names.count() == 1


def test_institute_of_standards_sits_under_the_ministry(public_record):
    isc = Ministry.objects.get(code="isc")
    assert isc.parent.code == "misti"
    assert isc.kind == Ministry.Kind.INSTITUTE


LONG_AGO = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def test_adding_or_removing_a_former_name_changes_the_ministry_as_partners_sync_it():
    ministry = MinistryFactory()
    Ministry.objects.filter(pk=ministry.pk).update(updated_at=LONG_AGO)

    former = ministry.former_names.create(
        name_en="Ministry of Old Things", valid_to=datetime.date(2020, 3, 26)
    )
    assert Ministry.objects.get(pk=ministry.pk).updated_at > LONG_AGO

    Ministry.objects.filter(pk=ministry.pk).update(updated_at=LONG_AGO)
    former.delete()
    assert Ministry.objects.get(pk=ministry.pk).updated_at > LONG_AGO
