"""Self check-in: the staff's screen and handling (sessions/…), and the public page its code opens (/c/…)."""

from django.urls import path

from participants.checkin import views

urlpatterns = [
    path("sessions/<int:pk>/check-in/", views.check_in_screen, name="check_in_screen"),
    path("sessions/<int:pk>/check-in/code.json", views.check_in_code, name="check_in_code_json"),
    path("sessions/<int:pk>/register/live.json", views.register_live, name="register_live"),
    path("check-ins/<int:pk>/undo/", views.check_in_undo, name="check_in_undo"),
    path("walk-ins/<int:pk>/<str:decision>/", views.walk_in_decide, name="walk_in_decide"),
    # Public, no log-in: short, since it is also written under the code for typing.
    path("c/<int:pk>/<str:code>/", views.check_in_code_landing, name="check_in_code"),
    path("c/<int:pk>/", views.check_in_page, name="check_in_page"),
]
