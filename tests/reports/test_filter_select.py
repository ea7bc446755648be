"""The report filters' selects are drawn by PlainSelect, in one pass of Python: the same options,
attributes and choice as Django's own select, so that a list of every course stays cheap as the
courses grow."""

from html.parser import HTMLParser

import pytest
from django import forms

from courses.models import Course
from participants.reports.forms import ReportFilterForm
from pcp_portal.forms import PlainSelect
from tests.factories import CourseFactory, MinistryFactory

pytestmark = pytest.mark.django_db


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.seen = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, sorted(attrs)))

    def handle_data(self, data):
        if data.strip():
            self.seen.append(("text", data.strip()))


def _parsed(html: str) -> list:
    parser = _Tags()
    parser.feed(str(html))
    return parser.seen


@pytest.mark.parametrize("data", [{}, {"course": "chosen"}, {"course": "999999"}])
def test_the_course_select_is_the_one_django_draws(data):
    courses = [CourseFactory(title=f"Welding <{n}> & more") for n in range(3)]
    MinistryFactory()
    if data.get("course") == "chosen":
        data = {"course": str(courses[1].pk)}
    form = ReportFilterForm(data or None)
    field = form["course"]
    assert isinstance(field.field.widget, PlainSelect)

    django_select = forms.Select(choices=field.field.choices)
    expected = django_select.render(
        field.html_name, field.value(), attrs=field.build_widget_attrs({"id": field.auto_id})
    )
    drawn = str(field)

    assert _parsed(drawn) == _parsed(expected)
    assert drawn.count("<option") == Course.objects.count() + 1
    assert "&lt;1&gt; &amp; more" in drawn  # labels escaped
    if data:
        chosen = [attrs for tag, attrs in _parsed(drawn) if tag == "option" and ("selected", None) in attrs]
        assert chosen == (
            [[("selected", None), ("value", data["course"])]] if data["course"] != "999999" else []
        )


def test_the_options_read_only_their_labels_columns_and_the_choice_is_read_whole(django_assert_num_queries):
    course = CourseFactory(title="Welding", description="Long text")
    form = ReportFilterForm({"course": str(course.pk)})
    assert form.is_valid()

    with django_assert_num_queries(1) as captured:
        drawn = str(form["course"])
    assert "description" not in captured.captured_queries[0]["sql"]
    assert "Welding" in drawn
    with django_assert_num_queries(0):
        assert form.cleaned_data["course"].description == "Long text"
