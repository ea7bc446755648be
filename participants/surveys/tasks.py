"""Celery adapters for survey links: load by id, call participants.surveys.sending, nothing else.

acks_late like the reminders' tasks: a killed worker's batch is delivered again and the claim
makes the second delivery harmless."""

from __future__ import annotations

from celery import shared_task

from participants.surveys import sending


@shared_task(name="participants.surveys.tasks.dispatch_survey_links", acks_late=True, ignore_result=True)
def dispatch_survey_links() -> dict:
    result = sending.dispatch()
    return {"created": result.created, "queued": result.queued}


@shared_task(name="participants.surveys.tasks.send_survey_links", acks_late=True, ignore_result=True)
def send_survey_links(invitation_ids: list[int]) -> dict:
    return sending.deliver_batch(invitation_ids)
