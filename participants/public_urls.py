"""/public/: pages anyone may read, without a log-in (aggregate figures and the public record)."""

from django.urls import path

from participants import public

app_name = "public"

urlpatterns = [
    path("", public.programme_page, name="programme"),
    path("projects/<int:pk>/", public.project_page, name="project"),
    path("courses/<int:pk>/", public.course_page, name="course"),
    path("officials-trained.<str:fmt>", public.open_data, name="open_data"),
]
