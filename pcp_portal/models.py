"""The platform's own tables (no domain): the transactional outbox that the change feed and queued
work share, the idempotency keys of API writes, the partners' API keys and the deletion records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.signals import post_delete
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class OutboxEvent(models.Model):
    """One row per fact that must leave the database after its transaction commits.

    Two topics share the table, so there is one mechanism and one set of guarantees:

    * ``change``: row ``object_id`` of API resource ``name`` was inserted or updated (op ``u``) or
      deleted (``d``). Written by database triggers (installed by each app's migrations through
      ``pcp_portal.outbox.trigger_sql``) in the same transaction as the change, whatever wrote
      it: a service, the admin, a bulk update, raw SQL. ``txid`` is that transaction's id
      (PostgreSQL ``pg_current_xact_id()``); the change feed orders by ``(txid, id)`` and only
      reads below the oldest running transaction, so it never skips a row that commits late.
    * ``task``: Celery task ``name`` must run with ``payload["args"]``. Written by
      ``pcp_portal.outbox.enqueue`` inside the caller's transaction (a rolled-back change queues
      nothing) and handed to the broker by the relay, which retries until the broker takes it
      (``relayed_at`` set), so a broker that is down when the change commits loses nothing.
    """

    class Topic(models.TextChoices):
        CHANGE = "change", _("change")
        TASK = "task", _("task")

    txid = models.BigIntegerField(_("transaction id"), default=0)
    topic = models.CharField(_("topic"), max_length=10, choices=Topic.choices)
    name = models.CharField(_("resource or task"), max_length=100)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    op = models.CharField(_("operation"), max_length=1, blank=True)
    payload = models.JSONField(_("payload"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    relayed_at = models.DateTimeField(_("relayed at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        constraints = [
            models.CheckConstraint(condition=Q(topic__in=["change", "task"]), name="outbox_topic_valid"),
            models.CheckConstraint(
                condition=~Q(topic="change") | Q(op__in=["u", "d"], object_id__isnull=False),
                name="outbox_change_has_op_and_object",
            ),
        ]
        indexes = [
            # The change feed: all resources, then one resource, in commit-safe order.
            models.Index(fields=["txid", "id"], condition=Q(topic="change"), name="outbox_feed"),
            models.Index(
                fields=["name", "txid", "id"], condition=Q(topic="change"), name="outbox_feed_by_resource"
            ),
            # The relay: tasks not yet handed to the broker.
            models.Index(
                fields=["id"], condition=Q(topic="task", relayed_at__isnull=True), name="outbox_unrelayed"
            ),
        ]

    def __str__(self) -> str:
        if self.topic == self.Topic.CHANGE:
            return f"{self.name} #{self.object_id} {self.op} (tx {self.txid})"
        return f"task {self.name} {self.payload}"


class ChangeFeedHorizon(models.Model):
    """Where the change feed begins: the newest position pruning removed, and the feed's epoch.

    A token older than the position gets 410 (full sync). A restore of a backup starts a new
    epoch: tokens of another epoch get 410 too, since partners' copies hold changes the restore
    took back.
    """

    txid = models.BigIntegerField(default=0)
    event_id = models.BigIntegerField(default=0)
    pruned_at = models.DateTimeField(null=True, blank=True)
    epoch = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("change feed horizon")

    def __str__(self) -> str:
        return f"change feed pruned up to tx {self.txid}, event {self.event_id}"


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


# API access and sync ---------------------------------------------------------------------------
# Partner systems read the API with hashed keys (one per system, each with a role) and keep their
# copies in step with the change feed (or `updated_since`) plus the tombstones below, which tell
# them what was deleted. Both tables were created by the courses app and keep their names.


class APIAccessKey(AbstractAPIKey):
    """A key for one partner system. Only its SHA-512 hash is stored; the key is shown once."""

    class Role(models.TextChoices):
        PARTNER = "partner", _("Partner (read-only, no contact details)")
        UNIDO_OFFICER = "unido_officer", _("UNIDO officer (reads everything)")
        MIH_STAFF = "mih_staff", _("MIH staff (reads and writes)")

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PARTNER)

    class Meta(AbstractAPIKey.Meta):
        db_table = "courses_apiaccesskey"
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["partner", "unido_officer", "mih_staff"]), name="api_key_role_valid"
            )
        ]


class DeletedRecord(models.Model):
    """A tombstone: `resource` #`object_id` was deleted at `deleted_at` (the API's deleted feed)."""

    resource = models.CharField(_("resource"), max_length=30)
    object_id = models.BigIntegerField(_("object id"))
    deleted_at = models.DateTimeField(_("deleted at"), default=timezone.now, db_index=True)
    # Set when the row was merged into another of the same resource (two records of one official):
    # a partner repoints what referred to `object_id` to this id.
    replaced_by = models.BigIntegerField(_("merged into"), null=True, blank=True)

    class Meta:
        db_table = "courses_deletedrecord"
        ordering = ["id"]
        verbose_name = _("deleted record")
        verbose_name_plural = _("deleted records")
        indexes = [models.Index(fields=["resource", "deleted_at"], name="deleted_record_resource_at")]

    def __str__(self) -> str:
        return f"{self.resource} #{self.object_id} deleted {self.deleted_at:%Y-%m-%d %H:%M}"


# Resource names as the API spells them, for every model a partner copies: the one list of them
# (the change feed's SYNCED_RESOURCES are these, in this order). post_delete fires for each object
# of QuerySet.delete() and of cascades; raw SQL deletes bypass it and must not be used.
# The senders are named by label, so the platform imports none of the apps.
TOMBSTONED_MODELS = {
    "courses.Programme": "programmes",
    "courses.Project": "projects",
    "courses.Course": "courses",
    "courses.Session": "sessions",
    "ministries.Ministry": "ministries",
    "participants.Official": "officials",
    "participants.Enrollment": "enrollments",
    "participants.Attendance": "attendance",
}


def _record_deletion(sender, instance, **kwargs) -> None:
    DeletedRecord.objects.create(resource=TOMBSTONED_MODELS[sender._meta.label], object_id=instance.pk)


for _label in TOMBSTONED_MODELS:
    post_delete.connect(_record_deletion, sender=_label, dispatch_uid=f"pcp-tombstone-{_label}")


# Webhooks ----------------------------------------------------------------------------------------
# A partner's key subscribes a URL to events; the dispatcher (pcp_portal.webhooks.dispatch) turns
# change rows into deliveries, following each subscription's own cursor in the change feed, and the
# sender (pcp_portal.webhooks.sender) posts them, signed, in order per object, retrying with back-off.


class WebhookSubscription(models.Model):
    """One URL a partner's API key has asked to be told about changes at."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused (failing, or paused by its owner)")
        GONE = "gone", _("Removed (the receiver answered 410 Gone)")

    api_key = models.ForeignKey(
        APIAccessKey,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("API key"),
    )
    url = models.CharField(_("URL"), max_length=2000)
    # Empty: every event.
    events = models.JSONField(_("events"), default=list, blank=True)
    # Kept in clear: signing needs it. Shown to the owner once, when the subscription is created.
    secret = models.CharField(_("signing secret"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    contact_email = models.EmailField(
        _("contact e-mail"), blank=True, help_text=_("Told when the subscription is paused for failing.")
    )
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    # The position in the change feed up to which changes have become deliveries.
    cursor_txid = models.BigIntegerField(default=0)
    cursor_event_id = models.BigIntegerField(default=0)
    # One sender at a time per subscription (a conditional UPDATE claims it), so order holds.
    sending_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "paused", "gone"]), name="webhook_subscription_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.status})"

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class WebhookDelivery(models.Model):
    """One event for one subscription, and what happened when it was sent.

    Deliveries of the same object (`resource`, `object_id`) go out in id order: a later one waits
    until the earlier one is delivered or given up. A replay is a new row with the same event id.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (given up)")

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event_id = models.UUIDField(_("event id"))
    event = models.CharField(_("event"), max_length=50)
    resource = models.CharField(_("resource"), max_length=30)
    object_id = models.BigIntegerField(_("object id"))
    version = models.BigIntegerField(_("version"), default=0)
    payload = models.JSONField(_("payload"))
    # The object's status when the event was made (scheduled, cancelled, enrolled, withdrawn): the
    # next change is named against it (a session becoming cancelled is `session.cancelled`).
    state = models.CharField(_("object state"), max_length=20, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.CharField(_("response excerpt"), max_length=500, blank=True, default="")
    error = models.CharField(_("error"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Attendance is batched per session: changes join the open delivery until this time.
    batch_until = models.DateTimeField(_("batched until"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    give_up_at = models.DateTimeField(_("give up at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replays",
        verbose_name=_("replay of"),
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhook_delivery_delivered_has_time",
            ),
        ]
        indexes = [
            # The sender: a subscription's pending deliveries in order.
            models.Index(
                fields=["subscription", "id"], condition=Q(status="pending"), name="webhook_delivery_pending"
            ),
            # The dispatcher: the last delivery of an object (its previous state), and the open batches.
            models.Index(
                fields=["subscription", "resource", "object_id", "id"], name="webhook_delivery_object"
            ),
            # The delivery log, newest first, and replays of a time range.
            models.Index(fields=["subscription", "created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.resource} #{self.object_id} → {self.subscription_id}: {self.status}"


class UserPreference(models.Model):
    """A person's own choices about how pages look to them (the preferences page)."""

    class Digits(models.TextChoices):
        LATIN = "latin", _("Latin digits (0123456789)")
        KHMER = "khmer", _("Khmer digits (០១២៣៤៥៦៧៨៩)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="preference"
    )
    digits = models.CharField(
        _("digits in numbers and dates"), max_length=10, choices=Digits.choices, default=Digits.LATIN
    )

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.get_digits_display()}"
