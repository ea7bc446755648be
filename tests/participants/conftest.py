"""The register tests' cast: one session of a course with three enrolled officials."""

import pytest

from tests.factories import EnrollmentFactory, SessionFactory


@pytest.fixture
def session():
    return SessionFactory(title="Metrology")


@pytest.fixture
def enrollments(session):
    return [EnrollmentFactory(course=session.course) for _ in range(3)]
