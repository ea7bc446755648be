"""Course and session forms: create, edit, cancel. Their pages, with officials, are participants'."""

from django.urls import path

from courses import calendar_views, views

urlpatterns = [
    path("courses/new/", views.course_create, name="course_create"),
    path("courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("courses/<int:pk>/cancel/", views.course_cancel, name="course_cancel"),
    path("courses/<int:course_pk>/sessions/new/", views.session_create, name="session_create"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("calendar/", calendar_views.calendar_month, name="calendar_month"),
    path("calendar/week/", calendar_views.calendar_week, name="calendar_week"),
    path("calendar/feeds/", calendar_views.calendar_feeds, name="calendar_feeds"),
    path("calendar/feeds/<int:pk>/revoke/", calendar_views.calendar_feed_revoke, name="calendar_feed_revoke"),
]
