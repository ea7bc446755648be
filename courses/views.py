"""HTML pages for the programme and its courses."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from courses.selectors import programme_overview, upcoming_sessions


def home(request):
    """Public landing: the programme, its project and course series from the public record."""
    return render(request, "courses/home.html", {"programmes": programme_overview()})


@login_required
def dashboard(request):
    return render(
        request,
        "courses/dashboard.html",
        {"programmes": programme_overview(), "upcoming": upcoming_sessions()},
    )
