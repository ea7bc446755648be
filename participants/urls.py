"""Courses and sessions with their officials: the pages, enrolment, withdrawal and the register."""

from django.urls import path

from participants import feeds, official_views, pages, views

urlpatterns = [
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("courses/", pages.course_list, name="course_list"),
    path("courses/<int:pk>/", pages.course_detail, name="course_detail"),
    path("sessions/<int:pk>/", pages.session_detail, name="session_detail"),
    path("courses/<int:course_pk>/enrol/", views.enrol, name="enrol"),
    path("courses/<int:course_pk>/walk-in/", views.walk_in, name="walk_in"),
    path("enrolments/<int:pk>/withdraw/", views.withdraw, name="enrollment_withdraw"),
    path("enrolments/<int:pk>/reinstate/", views.reinstate, name="enrollment_reinstate"),
    path("sessions/<int:pk>/register/", views.register_submit, name="register_submit"),
    path("sessions/<int:pk>/register/<int:enrollment_pk>/", views.register_row, name="register_row"),
    path("calendar/feed/<str:secret>.ics", feeds.calendar_feed, name="calendar_feed"),
    path("officials/", official_views.official_list, name="official_list"),
    path("officials/<int:pk>/", official_views.official_detail, name="official_detail"),
    path("search/", pages.search, name="search"),
]
