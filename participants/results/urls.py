"""/results/: the programme's and each project's results framework, progress and editing pages."""

from django.urls import path

from participants.results import views

app_name = "results"

urlpatterns = [
    path("projects/<int:pk>/", views.progress, name="progress"),
    path("projects/<int:pk>/progress.xlsx", views.progress_xlsx, name="progress_xlsx"),
    path("projects/<int:pk>/pack.zip", views.pack_zip, name="pack"),
    path("projects/<int:pk>/results/new/", views.result_new, name="result_new"),
    path("programmes/<int:pk>/", views.programme_progress, name="programme_progress"),
    path("programmes/<int:pk>/progress.xlsx", views.programme_progress_xlsx, name="programme_progress_xlsx"),
    path("programmes/<int:pk>/results/new/", views.programme_result_new, name="programme_result_new"),
    path("results/<int:pk>/edit/", views.result_edit, name="result_edit"),
    path("results/<int:pk>/indicators/new/", views.indicator_new, name="indicator_new"),
    path("indicators/<int:pk>/edit/", views.indicator_edit, name="indicator_edit"),
    path("indicators/<int:pk>/periods/new/", views.period_new, name="period_new"),
    path("periods/<int:pk>/edit/", views.period_edit, name="period_edit"),
]
