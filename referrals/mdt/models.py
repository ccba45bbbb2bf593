"""Multidisciplinary team (MDT) meetings (docs/design.md, "MDT meetings"): a meeting at a site with its
attendees, the cases neurology puts on its list with a question, and per case the signed decisions.

A signed decision is never changed: a correction is a new signed decision that names the one it
corrects (`corrects`), and the model refuses an update or a delete like the audit log does.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q


class DecisionOutcome(models.TextChoices):
    MVD_SURGERY = "mvd_surgery", "Microvascular decompression surgery"
    LESION_SURGERY = "lesion_surgery", "Surgery for a lesion"
    BOTULINUM_TOXIN = "botulinum_toxin", "Botulinum toxin"
    WATCHFUL_WAITING = "watchful_waiting", "Watchful waiting"
    REPEAT_MRI = "repeat_mri", "Repeat MRI"
    OTHER = "other", "Other (described)"


class MDTMeeting(models.Model):
    starts_at = models.DateTimeField()
    site = models.ForeignKey("imaging.Site", on_delete=models.PROTECT, related_name="mdt_meetings")
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="mdt_meetings")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = "MDT meeting"

    def __str__(self):
        return f"MDT {self.starts_at:%Y-%m-%d %H:%M} ({self.site})" if self.site_id else "MDT meeting"


class MDTCase(models.Model):
    """A case on a meeting's list, with neurology's question."""

    meeting = models.ForeignKey(MDTMeeting, on_delete=models.CASCADE, related_name="cases")
    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="mdt_cases")
    question = models.TextField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = "case on an MDT list"
        constraints = [models.UniqueConstraint(fields=["meeting", "referral"], name="mdt_case_once_per_meeting")]

    def __str__(self):
        return f"{self.referral} at {self.meeting}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


class MDTDecision(models.Model):
    """What the meeting decided for one case, signed by an attendee; append-only."""

    mdt_case = models.ForeignKey(MDTCase, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=24, choices=DecisionOutcome.choices)
    other_text = models.TextField(blank=True, help_text="What was decided, when the outcome is 'other'.")
    rationale = models.TextField(blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    opened_items = models.JSONField(default=list, blank=True, help_text="The work items this decision opened.")
    transition = models.CharField(max_length=40, blank=True, help_text="The case's transition it ran, if any.")

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name = "MDT decision"
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="other") | ~Q(other_text=""), name="mdt_decision_other_needs_text"
            ),
        ]

    def __str__(self):
        return f"{self.get_outcome_display()} (signed {self.signed_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("A signed MDT decision cannot be changed: sign a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("A signed MDT decision cannot be deleted: sign a correction instead.")

    @property
    def summary(self) -> str:
        return self.other_text if self.outcome == DecisionOutcome.OTHER else self.get_outcome_display()

    @property
    def audit_patient_id(self) -> int:
        return self.mdt_case.referral.patient_id
