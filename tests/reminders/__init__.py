"""Reminders: dispatch, sending against a real SMTP server, change notices, the staff pages and a
real Celery worker."""
