"""/reports/: the report pages, their exports and certificates (for unido_officer and mih_staff)."""

from django.urls import path, re_path

from participants.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.programme_report, name="programme"),
    path("ministries/", views.ministry_report, name="ministries"),
    path("sessions/", views.session_report, name="sessions"),
    path("courses/<int:pk>/", views.course_report, name="course"),
    path("courses/<int:pk>/certificates/", views.certificates_issue, name="certificates_issue"),
    path("courses/<int:pk>/certificates.pdf", views.certificates_pdf, name="certificates_pdf"),
    re_path(r"^certificates/(?P<code>[A-Z0-9-]{1,24})\.pdf$", views.certificate_pdf, name="certificate_pdf"),
    path("exports/", views.export_list, name="exports"),
    path("exports/<int:pk>/progress.json", views.export_progress, name="export_progress"),
    # The file's own name last: a browser saving the link keeps it, and it says what it is.
    re_path(
        r"^exports/(?P<pk>[0-9]+)/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,119})$",
        views.export_download,
        name="export_download",
    ),
    re_path(r"^export/(?P<report>[a-z]{1,20})\.(?P<fmt>[a-z]{1,5})$", views.export, name="export"),
]
