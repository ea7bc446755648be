"""Instruments (questionnaires and knowledge tests), their questions, the answers, and the ledger.

Privacy: an anonymous instrument's answers live in AnonymousResponse, which names no official
(no foreign key, no identifying column, a random primary key and no time stamp, so neither the
insertion order nor the time can be matched against Participation). Participation records only
that an official answered, for response rates and "already answered".
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from participants.models import Channel
from pcp_portal.db import TimeStampedModel

TEXT_ANSWER_MAX_LENGTH = 1000
SCALE_MIN, SCALE_MAX = 1, 5


class Instrument(TimeStampedModel):
    class Kind(models.TextChoices):
        PRE_TEST = "pre", _("Pre-test")
        POST_TEST = "post", _("Post-test")
        FEEDBACK = "feedback", _("Session feedback")
        FOLLOW_UP = "follow_up", _("Follow-up survey")

    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="instruments")
    session = models.ForeignKey(
        "courses.Session",
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="instruments",
        help_text=_("Session feedback only: the session it asks about."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_km = models.CharField(_("title (Khmer)"), max_length=200, blank=True)
    is_anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Answers are stored without any link to the official who gave them."),
    )
    pre_test = models.ForeignKey(
        "self",
        verbose_name=_("paired pre-test"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="post_tests",
    )
    follow_up_months = models.PositiveSmallIntegerField(
        _("months after the course"), null=True, blank=True, help_text=_("Follow-up surveys only.")
    )
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    # An instrument with responses is never changed in a way that breaks comparability: the
    # change makes a new instrument (version + 1) with `previous` pointing at the one it replaces.
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_version"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["course", "kind", "id"]
        verbose_name = _("survey or test")
        verbose_name_plural = _("surveys and tests")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["pre", "post", "feedback", "follow_up"]), name="instrument_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="feedback", session__isnull=False) | ~Q(kind="feedback"),
                name="instrument_feedback_has_session",
                violation_error_message=_("Session feedback asks about one session: choose it."),
            ),
            models.CheckConstraint(
                condition=Q(kind="follow_up", follow_up_months__gte=1) | ~Q(kind="follow_up"),
                name="instrument_follow_up_has_months",
                violation_error_message=_("Say how many months after the course the follow-up goes out."),
            ),
            models.CheckConstraint(
                condition=Q(pre_test__isnull=True) | Q(kind="post"),
                name="instrument_only_post_pairs",
                violation_error_message=_("Only a post-test is paired with a pre-test."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title_en} (v{self.version})"

    def title_for(self, language: str) -> str:
        return self.title_km if language == "km" and self.title_km else self.title_en

    @property
    def is_test(self) -> bool:
        return self.kind in (self.Kind.PRE_TEST, self.Kind.POST_TEST)


class Question(models.Model):
    class Type(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        SCALE = "scale", _("Scale 1–5")
        TEXT = "text", _("Short text")

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    text_en = models.CharField(_("question (English)"), max_length=500)
    text_km = models.CharField(_("question (Khmer)"), max_length=500, blank=True)
    points = models.PositiveSmallIntegerField(
        _("points"), default=0, help_text=_("Tests: what a correct answer scores.")
    )
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["instrument", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "position"], name="question_unique_position"),
            models.CheckConstraint(
                condition=Q(type__in=["single", "multiple", "scale", "text"]), name="question_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.text_en

    def text_for(self, language: str) -> str:
        return self.text_km if language == "km" and self.text_km else self.text_en

    @property
    def has_choices(self) -> bool:
        return self.type in (self.Type.SINGLE, self.Type.MULTIPLE)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(_("position"))
    text_en = models.CharField(_("option (English)"), max_length=300)
    text_km = models.CharField(_("option (Khmer)"), max_length=300, blank=True)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question", "position"], name="choice_unique_position"),
        ]

    def __str__(self) -> str:
        return self.text_en

    def text_for(self, language: str) -> str:
        return self.text_km if language == "km" and self.text_km else self.text_en


class Participation(models.Model):
    """That an official answered an instrument, and nothing of what: the one row per official and
    instrument (the unique constraint settles a double tap), for response rates and reminders."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="participations")
    official = models.ForeignKey(
        "participants.Official", on_delete=models.PROTECT, related_name="survey_participations"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "official"], name="participation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.official_id} answered {self.instrument_id}"


class Response(models.Model):
    """The answers of one official to an identified instrument; changed in place until it closes.

    `answers` maps a question id (as text) to a list of choice ids, a scale value or a text.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="responses")
    official = models.ForeignKey(
        "participants.Official", on_delete=models.PROTECT, related_name="survey_responses"
    )
    answers = models.JSONField(default=dict)
    score = models.PositiveIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "official"], name="response_unique_official"),
        ]

    def __str__(self) -> str:
        return f"{self.official_id} on {self.instrument_id}"


class AnonymousResponse(models.Model):
    """The answers to an anonymous instrument. Deliberately nothing that points to a person: no
    official, no time, a random key (tests/surveys/test_privacy.py holds the schema to it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="anonymous_responses")
    answers = models.JSONField(default=dict)
    score = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.pk)


class Invitation(models.Model):
    """The sending ledger: one row per (instrument, official, key) — the link, then at most two
    reminders. The unique constraint and the conditional claim give exactly-once, as for reminders."""

    class Key(models.TextChoices):
        LINK = "link", _("Link")
        REMINDER_1 = "reminder-1", _("First reminder")
        REMINDER_2 = "reminder-2", _("Second reminder")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="invitations")
    official = models.ForeignKey(
        "participants.Official", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    key = models.CharField(max_length=20, choices=Key.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The channel that delivered the row (or last tried it), as on the reminders' ledger.
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)

    class Meta:
        constraints = [
            # sending.dispatch relies on it: a second dispatcher can never make a second row.
            models.UniqueConstraint(fields=["instrument", "official", "key"], name="invitation_unique"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="invitation_status_next")]

    def __str__(self) -> str:
        return f"{self.key} of {self.instrument_id} to {self.official_id}: {self.status}"
