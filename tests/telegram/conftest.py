"""The fake Bot API, and the reminder tests' real SMTP server and Celery worker, for these tests."""

from tests.reminders.conftest import celery_broker, celery_worker, smtp_server  # noqa: F401
from tests.telegram.fake import bot_api  # noqa: F401
