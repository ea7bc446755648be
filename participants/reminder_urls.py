"""Reminder URLs: staff send failed reminders again; the public opt-out and calendar links; the
Telegram bot's webhook."""

from django.urls import path

from participants import reminder_views

urlpatterns = [
    path("reminders/<int:pk>/resend/", reminder_views.resend, name="reminder_resend"),
    path(
        "sessions/<int:pk>/reminders/resend-failed/",
        reminder_views.resend_failed_of_session,
        name="session_reminders_resend_failed",
    ),
    path(
        "courses/<int:pk>/reminders/resend-failed/",
        reminder_views.resend_failed_of_course,
        name="course_reminders_resend_failed",
    ),
    path("reminders/opt-out/<str:token>/", reminder_views.opt_out, name="reminder_opt_out"),
    path("reminders/calendar/<str:token>/session.ics", reminder_views.calendar, name="reminder_calendar"),
    path("telegram/webhook/", reminder_views.telegram_webhook, name="telegram_webhook"),
]
