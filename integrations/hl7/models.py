"""The HL7 v2 message store (docs/integrations.md, "HL7 v2"): every inbound message as received,
what CarePath made of it and the ACK it got; the RIS's order numbers; the RIS's resource codes of
the scanners; and the orders sent to the RIS."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Outcome(models.TextChoices):
    PROCESSED = "processed", "Processed"
    HELD = "held", "Held for a neuroradiologist to confirm"
    ERROR = "error", "Refused by CarePath's rules (AE)"
    REJECTED = "rejected", "Rejected: unreadable or unsupported (AR)"


class AckCode(models.TextChoices):
    AA = "AA", "AA: accepted"
    AE = "AE", "AE: application error"
    AR = "AR", "AR: rejected"


class InboundMessage(models.Model):
    """One inbound HL7 message, stored with its ACK in the transaction of its effects."""

    control_id = models.CharField(
        max_length=199, null=True, blank=True, help_text="MSH-10; a message resent with the same id gets the same ACK."
    )
    kind = models.CharField(max_length=20, blank=True, help_text="MSH-9: SIU^S12, ORU^R01, …")
    sending_application = models.CharField(max_length=227, blank=True)
    channel = models.CharField(max_length=8, choices=[("mllp", "MLLP"), ("http", "HTTP")])
    raw = models.TextField()
    summary = models.JSONField(default=dict, help_text="What CarePath read from it: order numbers, times, status.")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    ack_code = models.CharField(max_length=2, choices=AckCode.choices)
    ack = models.TextField(help_text="The ACK sent back, sent again for a duplicate.")
    error = models.TextField(blank=True)
    mri_request = models.ForeignKey(
        "imaging.MRIRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transition = models.CharField(max_length=40, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField()
    duplicates = models.PositiveIntegerField(default=0, help_text="How many times it was sent again.")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound HL7 message"
        constraints = [models.UniqueConstraint(fields=["control_id"], name="hl7_inbound_control_id_unique")]
        indexes = [models.Index(fields=["outcome", "-received_at"], name="hl7_inbound_outcome")]

    def __str__(self):
        return f"{self.kind} {self.control_id or '(no id)'}: {self.ack_code}"

    @property
    def audit_patient_id(self) -> int | None:
        return self.mri_request.referral.patient_id if self.mri_request_id else None


class RisOrder(models.Model):
    """An MRI request's order numbers: ours (ORC-2, placer) and the RIS's (ORC-3, filler)."""

    mri_request = models.OneToOneField("imaging.MRIRequest", on_delete=models.CASCADE, related_name="ris_order")
    filler_number = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = "RIS order"

    def __str__(self):
        return f"{self.mri_request_id}: {self.filler_number or '(no filler number)'}"

    @property
    def audit_patient_id(self) -> int:
        return self.mri_request.referral.patient_id


class ScannerCode(models.Model):
    """The RIS's code for a scanner (AIL-3.1 or AIG-3.1 of a booking) → the scanner it books."""

    code = models.CharField(max_length=64, unique=True)
    scanner = models.ForeignKey("imaging.Scanner", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "RIS scanner code"

    def __str__(self):
        return f"{self.code} → {self.scanner}"


class OutboundMessage(models.Model):
    """An order to the RIS (ORM^O01), written in the transaction that requested the MRI and
    delivered over MLLP with retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent (AA)"
        FAILED = "failed", "Failed (gave up)"

    control_id = models.CharField(max_length=64, unique=True)
    mri_request = models.ForeignKey("imaging.MRIRequest", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, default="ORM^O01")
    raw = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    ack = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outbound HL7 message"
        indexes = [
            # integrations.hl7.deliver_due: the pending rows whose time has come
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="hl7_outbound_due"),
        ]

    def __str__(self):
        return f"{self.kind} {self.control_id}: {self.status}"

    @property
    def audit_patient_id(self) -> int:
        return self.mri_request.referral.patient_id
