"""A receiver of webhooks: its URL, its signing secret and the event types it asked for."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from integrations.outbox.models import EventType
from integrations.webhooks.signing import new_secret


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="Receives a POST per event (HTTPS in production).")
    secret = models.CharField(max_length=100, default=new_secret, help_text="whsec_ + base64: signs every message.")
    event_types = models.JSONField(default=list, help_text=f"Any of: {', '.join(EventType.values)}")
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def clean(self):
        unknown = set(self.event_types or []) - set(EventType.values) if isinstance(self.event_types, list) else {"?"}
        if unknown or not self.event_types:
            raise ValidationError({"event_types": f"A list of one or more of: {', '.join(EventType.values)}."})

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in self.event_types
