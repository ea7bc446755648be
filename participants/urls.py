from django.urls import path

from participants import views

urlpatterns = [
    path("courses/<int:course_pk>/enrol/", views.enrol, name="enrol"),
    path("courses/<int:course_pk>/walk-in/", views.walk_in, name="walk_in"),
    path("enrolments/<int:pk>/withdraw/", views.withdraw, name="enrollment_withdraw"),
    path("enrolments/<int:pk>/reinstate/", views.reinstate, name="enrollment_reinstate"),
    path("sessions/<int:pk>/register/", views.register_submit, name="register_submit"),
    path("sessions/<int:pk>/register/<int:enrollment_pk>/", views.register_row, name="register_row"),
]
