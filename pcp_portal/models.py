"""Rows the project's wiring keeps for itself (no domain): the idempotency keys of API writes."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a caller sent with a write, and the answer it got.

    Claimed (committed, `status_code` empty) before the write runs, so a second request with the
    same key while the first is still running is told so; completed in the write's own transaction,
    so a claim that never completes means nothing was written. See pcp_portal.idempotency.
    """

    caller = models.CharField(max_length=64, help_text="`user:<id>` or `key:<prefix>`: keys are per caller.")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.TextField()
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(default=b"")
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The claim itself: two requests racing with one key cannot both insert.
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_key_unique_per_caller"),
        ]
        # prune_expired_idempotency_keys deletes by age.
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"
