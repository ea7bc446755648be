"""Survey URLs: the public answering page and the staff pages."""

from django.urls import path

from participants.surveys import answer_views, views

urlpatterns = [
    path("survey/<str:token>/", answer_views.answer, name="survey_answer"),
    path("courses/<int:pk>/surveys/", views.course_surveys, name="course_surveys"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey_detail"),
    path("surveys/<int:pk>/edit/", views.survey_edit, name="survey_edit"),
    path("surveys/<int:pk>/questions/", views.survey_question_add, name="survey_question_add"),
    path("surveys/questions/<int:pk>/delete/", views.survey_question_delete, name="survey_question_delete"),
    path("surveys/<int:pk>/new-version/", views.survey_new_version, name="survey_new_version"),
    path("surveys/<int:pk>/tablet/", views.survey_tablet, name="survey_tablet"),
    path("surveys/<int:pk>/results/", views.survey_results, name="survey_results"),
    path("surveys/<int:pk>/results.<str:fmt>", views.survey_export, name="survey_export"),
]
