"""An EHR client's FHIR Subscription: a topic, a rest-hook endpoint, `id-only` payloads, a heartbeat,
and the count of events sent since it started (`events-since-subscription-start`)."""

from django.conf import settings
from django.db import models


class SubscriptionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested (handshake not answered yet)"
    ACTIVE = "active", "Active"
    ERROR = "error", "Error (the handshake failed)"
    OFF = "off", "Off (the endpoint answered 410 Gone)"


class FhirSubscription(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=200)
    endpoint = models.URLField(max_length=500)
    headers = models.JSONField(default=list, blank=True, help_text="channel.header: sent with every notification")
    heartbeat_period = models.PositiveIntegerField(default=0, help_text="seconds; 0: no heartbeat")
    reason = models.CharField(max_length=200, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.REQUESTED)
    error = models.CharField(max_length=200, blank=True)
    events_since_start = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    next_heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "FHIR subscription"
        indexes = [models.Index(fields=["next_heartbeat_at"], name="fhir_subscription_heartbeat")]

    def __str__(self):
        return f"Subscription/{self.pk} ({self.status})"
