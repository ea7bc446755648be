"""Course and session forms: create, edit, cancel. Their pages, with officials, are participants'."""

from django.urls import path

from courses import views

urlpatterns = [
    path("courses/new/", views.course_create, name="course_create"),
    path("courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("courses/<int:pk>/cancel/", views.course_cancel, name="course_cancel"),
    path("courses/<int:course_pk>/sessions/new/", views.session_create, name="session_create"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
]
