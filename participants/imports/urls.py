"""/imports/: upload, preview, confirm or discard, and the error file of officials, enrolments, sheets."""

from django.urls import path

from participants.imports import views

urlpatterns = [
    path("", views.import_home, name="import_home"),
    path("<str:kind>/new/", views.import_upload, name="import_upload"),
    path(
        "<str:kind>/template-<str:language>.<str:file_format>",
        views.template_download,
        name="import_template",
    ),
    path("batch/<int:pk>/", views.batch_detail, name="import_batch"),
    path("batch/<int:pk>/progress.json", views.batch_progress, name="import_progress"),
    path("batch/<int:pk>/confirm/", views.batch_confirm, name="import_confirm"),
    path("batch/<int:pk>/discard/", views.batch_discard, name="import_discard"),
    path("batch/<int:pk>/errors.csv", views.batch_errors, name="import_errors"),
]
