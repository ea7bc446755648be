from django.urls import path

from participants import reminder_views

urlpatterns = [
    path("reminders/<int:pk>/resend/", reminder_views.resend, name="reminder_resend"),
    path("reminders/opt-out/<str:token>/", reminder_views.opt_out, name="reminder_opt_out"),
]
