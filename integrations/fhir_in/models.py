"""The placer's order number of each inbound referral: what makes a retried POST find its first
referral instead of writing a second one (the unique constraint holds under concurrency)."""

from django.conf import settings
from django.db import models


class PlacerOrder(models.Model):
    """A `ServiceRequest.identifier` of type PLAC (or the `If-None-Exist` identifier) received once."""

    system = models.CharField(max_length=255, help_text="The placer's identifier system (a URI).")
    value = models.CharField(max_length=128)
    referral = models.OneToOneField(
        "referrals.Referral", null=True, on_delete=models.PROTECT, related_name="placer_order"
    )
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()

    class Meta:
        app_label = "integrations"
        constraints = [models.UniqueConstraint(fields=["system", "value"], name="placer_order_once")]

    def __str__(self):
        return f"{self.system}|{self.value}"

    @property
    def audit_patient_id(self) -> int | None:
        return self.referral.patient_id if self.referral_id else None
