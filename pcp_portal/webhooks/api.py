"""The partner's side of webhooks under /api/v1/webhooks/: its subscriptions, their delivery log,
and replays. Every API key (any role) manages its own subscriptions and sees only their deliveries.
A portal log-in of a UNIDO officer or MIH staff reads every subscription and delivery (as in the
admin) but changes none: subscriptions belong to keys."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from pcp_portal.api import (
    READERS,
    APIKeyUser,
    IdempotentWritesMixin,
    RolePermission,
    StrictQueryParamsMixin,
    sees_contact_details,
)
from pcp_portal.api.bases import ID_PATTERN, IdFilter
from pcp_portal.models import WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks import services
from pcp_portal.webhooks.events import EVENT_CHOICES, EVENTS

PAYLOAD_DESCRIPTION = _(
    "What the portal POSTs to a subscription's URL, as JSON. Headers: `PCP-Webhook-Id` (the event id; "
    "the same on a retry or a replay, so drop an id you have already processed), `PCP-Webhook-Event`, "
    "`PCP-Webhook-Timestamp` (Unix seconds) and `PCP-Webhook-Signature: v1=<hex>`, the HMAC-SHA256 of "
    "`<timestamp>.<body>` with the subscription's secret. Answer 2xx within 10 seconds; anything else "
    "is retried with exponential back-off for 24 hours, and 410 removes the subscription. Deliveries "
    "of one object arrive in order; `version` grows with each change of the object."
)


class WebhookEventSerializer(serializers.Serializer):
    """The body of a webhook request (documented as the `WebhookEvent` component)."""

    id = serializers.UUIDField(help_text=_("The event id: the same on every retry and replay."))
    event = serializers.ChoiceField(choices=EVENT_CHOICES)
    created_at = serializers.DateTimeField(help_text=_("When the change was made."))
    resource = serializers.ChoiceField(
        choices=["sessions", "enrollments", "attendance", "officials", "certificates"]
    )
    object_id = serializers.IntegerField(
        help_text=_("The changed object's id; for `attendance.changed`, the session's id.")
    )
    version = serializers.IntegerField(
        help_text=_("The object's version (its last change, in microseconds).")
    )
    data = serializers.JSONField(
        allow_null=True,
        help_text=_(
            "The object as the API gives it to your key (partners get no contact details); for "
            "`attendance.changed`, `{session, attendance: [rows]}`; for `certificate.issued`, the "
            "certificate as issued: `{id, code, verification_url, enrollment, enrollment_url, series, "
            "series_url, official, official_url, course, course_url, holder_name, holder_name_km, "
            "course_title, completed_on, issued_at}` (a course certificate has an enrollment and no "
            "series; a series certificate a series and no enrollment or course, and course_title is "
            "the series' title); null when the object was deleted."
        ),
    )


WebhookEventSerializer.__doc__ = str(PAYLOAD_DESCRIPTION)


class APIKeyWrites(BasePermission):
    message = _("Webhook subscriptions belong to API keys: call with `Authorization: Bearer <key>`.")

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or isinstance(request.user, APIKeyUser)


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        ) from None


class SubscriptionSerializer(serializers.ModelSerializer):
    url = serializers.RegexField(
        # What a schema can state; the addresses the name resolves to are checked by the service.
        # (http only where PCP_WEBHOOK_ALLOW_HTTP is on: local work and tests.)
        # Plain ASCII classes, which mean the same in Python and in a schema's (ECMA) regex: a
        # host name or IPv4 address (IPv6 receivers are reached by name), a port, a path.
        r"^https?://[A-Za-z0-9._-]+(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
        r"(/[!-~]*)?$",
        max_length=2000,
        error_messages={"invalid": _("Enter an https URL without a user name or password.")},
        help_text=_(
            "An https URL on a public address, without user name or password (checked again at each send)."
        ),
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        required=False,
        max_length=len(EVENTS),
        help_text=_("The events to send; empty or left out: every event."),
    )
    contact_email = serializers.EmailField(
        required=False, allow_blank=True, help_text=_("Told when the subscription is paused for failing.")
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "events",
            "contact_email",
            "status",
            "failing_since",
            "paused_at",
            "created_at",
        ]
        read_only_fields = ["status", "failing_since", "paused_at", "created_at"]


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True, help_text=_("The signing secret. Shown this once: store it now.")
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class ReplayRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text=_("Replay deliveries made at or after this time."))
    until = serializers.DateTimeField(help_text=_("…and before this time."))

    def validate(self, attrs):
        if attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": [_("`until` must be after `since`.")]})
        return attrs


REPLAYED = inline_serializer("WebhookReplay", {"replayed": serializers.IntegerField()})


class KeyOwnedMixin(StrictQueryParamsMixin):
    permission_classes = [RolePermission, APIKeyWrites]
    api_read_roles = READERS
    # Partners' keys are read-only for the portal's data, but their own subscriptions are theirs.
    api_write_roles = READERS
    lookup_value_regex = ID_PATTERN

    def owned_subscriptions(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        if isinstance(user, APIKeyUser):
            return WebhookSubscription.objects.filter(api_key=user.api_key)
        if sees_contact_details(self.request):  # a staff reader's portal log-in: the whole log
            return WebhookSubscription.objects.all()
        return WebhookSubscription.objects.none()


@extend_schema_view(
    list=extend_schema(summary=_("List your webhook subscriptions")),
    retrieve=extend_schema(summary=_("One webhook subscription")),
    create=extend_schema(
        summary=_("Subscribe a URL to events"),
        description=PAYLOAD_DESCRIPTION,
        responses={201: SubscriptionCreatedSerializer},
    ),
    partial_update=extend_schema(summary=_("Change a subscription's URL, events or contact")),
    destroy=extend_schema(summary=_("Delete a subscription and its delivery log")),
)
class SubscriptionViewSet(
    IdempotentWritesMixin,
    KeyOwnedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SubscriptionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return self.owned_subscriptions().order_by("id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sub = _call(services.subscription_create, api_key=request.user.api_key, **serializer.validated_data)
        return Response(SubscriptionCreatedSerializer(sub).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        sub = self.get_object()
        serializer = self.get_serializer(sub, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        sub = _call(services.subscription_update, subscription=sub, **serializer.validated_data)
        return Response(self.get_serializer(sub).data)

    @extend_schema(summary=_("Pause a subscription (changes wait, none are lost)"), request=None)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        sub = services.subscription_pause(subscription=self.get_object())
        return Response(self.get_serializer(sub).data)

    @extend_schema(
        summary=_("Resume a paused subscription"),
        description=_("Pending deliveries go out again, then the changes made while it was paused."),
        request=None,
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        sub = services.subscription_resume(subscription=self.get_object())
        return Response(self.get_serializer(sub).data)

    @extend_schema(
        summary=_("Replay a time range of deliveries"),
        description=_("Every delivery made in [since, until) is sent again, with its event id."),
        request=ReplayRangeSerializer,
        responses={202: REPLAYED},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        sub = self.get_object()
        serializer = ReplayRangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chosen = sub.deliveries.filter(
            created_at__gte=serializer.validated_data["since"],
            created_at__lt=serializer.validated_data["until"],
        )
        copies = services.deliveries_replay(deliveries=chosen)
        return Response({"replayed": len(copies)}, status=status.HTTP_202_ACCEPTED)


@extend_schema_field(WebhookEventSerializer)
class PayloadField(serializers.JSONField):
    """The body that was (or will be) sent."""


class DeliverySerializer(serializers.ModelSerializer):
    payload = PayloadField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event",
            "resource",
            "object_id",
            "version",
            "status",
            "attempts",
            "status_code",
            "response_excerpt",
            "error",
            "created_at",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "replay_of",
            "payload",
        ]
        read_only_fields = fields


class DeliveryFilter(django_filters.FilterSet):
    subscription = IdFilter(field_name="subscription_id", label=_("Only this subscription's deliveries."))
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event = django_filters.ChoiceFilter(choices=EVENT_CHOICES)

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary=_("The delivery log of your subscriptions"), description=PAYLOAD_DESCRIPTION),
    retrieve=extend_schema(summary=_("One delivery")),
)
class DeliveryViewSet(IdempotentWritesMixin, KeyOwnedMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return WebhookDelivery.objects.filter(subscription__in=self.owned_subscriptions()).order_by("id")

    @extend_schema(
        summary=_("Send one delivery again (same event id)"),
        request=None,
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = self.get_object()
        (copy,) = services.deliveries_replay(deliveries=WebhookDelivery.objects.filter(pk=delivery.pk))
        return Response(self.get_serializer(copy).data, status=status.HTTP_202_ACCEPTED)
