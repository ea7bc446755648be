"""Survey URLs: the public answering page and the staff pages."""

from django.urls import path

from participants.surveys import answer_views

urlpatterns = [
    path("survey/<str:token>/", answer_views.answer, name="survey_answer"),
]
