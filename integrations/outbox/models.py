"""The outbox's tables: an `Event` per change other systems may hear of, written in the change's own
transaction (integrations/events.py), and an `OutboundDelivery` per event and receiver, sent by
integrations/outbox/sending.py with the claim, back-off and dead letters of carepath/notify/delivery.py."""

import uuid

from django.db import models
from django.db.models import Q

from carepath.models import DeliveryState


class EventType(models.TextChoices):
    REFERRAL_TRANSITIONED = "referral.transitioned", "A referral moved on its pathway"
    MRI_REQUEST_TRANSITIONED = "mri_request.transitioned", "An MRI request moved on its pathway"
    REPORT_SIGNED = "report.signed", "A neuroradiology report was signed"
    REPORT_AMENDED = "report.amended", "A neuroradiology report was amended"
    NOTIFICATION_CREATED = "notification.created", "A staff notification was created"


class Event(models.Model):
    """One change, as other systems hear of it: ids, states and the transition's name only (never a
    child's name or the report's words: the receiver fetches those with its own token)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    referral_id = models.BigIntegerField(null=True, blank=True, help_text="The case: deliveries keep its order.")
    mri_request_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When its receivers' rows were written (the relay); empty: not yet."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["referral_id", "id"], name="integrations_event_case"),
            # the relay's poll: the events committed and not fanned out yet (a handful at any time)
            models.Index(fields=["id"], condition=Q(fanned_out_at__isnull=True), name="integrations_event_unrelayed"),
        ]

    def __str__(self):
        return f"{self.type} #{self.pk}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.uid.hex}"


class DeliveryKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    FHIR_EVENT = "fhir-event", "FHIR event notification"
    FHIR_HANDSHAKE = "fhir-handshake", "FHIR handshake"
    FHIR_HEARTBEAT = "fhir-heartbeat", "FHIR heartbeat"


class OutboundDelivery(models.Model):
    """One message to one receiver. The claim columns are those of `carepath.Delivery`, so the same
    claim, back-off, re-queue and resend functions send both. `lane` orders a receiver's messages
    about one case: a row is sent only once every earlier row of its lane is sent or dead."""

    kind = models.CharField(max_length=16, choices=DeliveryKind.choices)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        "integrations.WebhookEndpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        "integrations.FhirSubscription", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    lane = models.CharField(max_length=80, blank=True, help_text="receiver:case; blank when unordered")
    body = models.TextField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "outbound deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], condition=Q(endpoint__isnull=False), name="outbound_once_per_endpoint"
            ),
            models.UniqueConstraint(
                fields=["event", "subscription"],
                condition=Q(subscription__isnull=False, event__isnull=False),
                name="outbound_once_per_subscription",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state__in=["pending", "failed"]), name="outbound_unsent_due"
            ),
            models.Index(fields=["lane", "id"], condition=Q(state__in=["pending", "failed"]), name="outbound_lane"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.state})"
