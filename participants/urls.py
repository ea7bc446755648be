"""Courses and sessions with their officials: the pages, enrolment, withdrawal and the register."""

from django.urls import path

from participants import feeds, official_views, pages, views

urlpatterns = [
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("courses/", pages.course_list, name="course_list"),
    path("courses/<int:pk>/", pages.course_detail, name="course_detail"),
    path("sessions/<int:pk>/", pages.session_detail, name="session_detail"),
    path("sessions/<int:pk>/sign-in-sheet.pdf", pages.session_signin_pdf, name="session_signin_pdf"),
    path(
        "sessions/<int:pk>/sign-in-sheet.<str:fmt>",
        pages.session_signin_template,
        name="session_signin_template",
    ),
    path("series/<int:pk>/", pages.series_detail, name="series_detail"),
    path("series/<int:pk>/export.<str:fmt>", pages.series_export, name="series_export"),
    path("series/<int:pk>/rule/", pages.series_rule, name="series_rule"),
    path(
        "series/<int:pk>/certificates/issue/",
        pages.series_certificates_issue,
        name="series_certificates_issue",
    ),
    path("series/<int:pk>/certificates.pdf", pages.series_certificates_pdf, name="series_certificates_pdf"),
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
    path(
        "officials/<int:pk>/transcript/", official_views.official_transcript_page, name="official_transcript"
    ),
    path(
        "officials/<int:pk>/transcript.csv",
        official_views.official_transcript_csv,
        name="official_transcript_csv",
    ),
    path(
        "officials/<int:pk>/transcript.pdf",
        official_views.official_transcript_pdf,
        name="official_transcript_pdf",
    ),
    path("officials/<int:pk>/edit/", official_views.official_edit, name="official_edit"),
    path("officials/merge/", official_views.official_merge, name="official_merge"),
    path("officials/merges/<int:pk>/undo/", official_views.official_merge_undo, name="official_merge_undo"),
]
