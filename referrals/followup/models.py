"""Follow-up after treatment (docs/design.md, "Follow-up after treatment"): the treatment as given
(its actual date), the site templates of the visits that follow it (editable in the admin), and each
planned visit with the work item that waits on it.

A visit copies its template's offset when the schedule is made, so editing a template changes the
schedules made afterwards, not those already made (unless someone re-plans them on purpose:
`services.replan_from_template`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class TreatmentKind(models.TextChoices):
    BOTULINUM_TOXIN = "botulinum_toxin", "Botulinum toxin injection"
    MVD = "mvd", "Microvascular decompression"
    LESION_SURGERY = "lesion_surgery", "Surgery for a lesion"


class OffsetUnit(models.TextChoices):
    DAYS = "days", "Days"
    WEEKS = "weeks", "Weeks"
    MONTHS = "months", "Months"


class FollowUpTemplate(models.Model):
    """The visits after one kind of treatment at one site; the one without a site applies elsewhere."""

    treatment_kind = models.CharField(max_length=24, choices=TreatmentKind.choices)
    site = models.ForeignKey(
        "imaging.Site", null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: every site without its own."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["treatment_kind", "site__name"]
        verbose_name = "follow-up template"
        constraints = [
            models.UniqueConstraint(fields=["treatment_kind", "site"], name="followup_template_per_kind_site"),
            models.UniqueConstraint(
                fields=["treatment_kind"], condition=Q(site__isnull=True), name="followup_template_default_per_kind"
            ),
        ]

    def __str__(self):
        return f"{self.get_treatment_kind_display()} — {self.site or 'every site'}"


class FollowUpTemplateVisit(models.Model):
    template = models.ForeignKey(FollowUpTemplate, on_delete=models.CASCADE, related_name="visits")
    label = models.CharField(max_length=100)
    amount = models.PositiveSmallIntegerField(help_text="How long after the treatment date.")
    unit = models.CharField(max_length=8, choices=OffsetUnit.choices)

    class Meta:
        ordering = ["template", "id"]
        verbose_name = "visit"

    def __str__(self):
        return f"{self.label} ({self.amount} {self.unit})"


class Treatment(models.Model):
    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="treatments")
    kind = models.CharField(max_length=24, choices=TreatmentKind.choices)
    treated_on = models.DateField(help_text="The date the treatment was actually given.")
    site = models.ForeignKey("imaging.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["treated_on", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.treated_on:%Y-%m-%d}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


class VisitState(models.TextChoices):
    PLANNED = "planned", "Planned"
    ATTENDED = "attended", "Attended"
    MISSED = "missed", "Missed (review opened)"
    REPLANNED = "replanned", "Replaced by a re-planned visit"


class FollowUpVisit(models.Model):
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="visits")
    label = models.CharField(max_length=100)
    amount = models.PositiveSmallIntegerField()
    unit = models.CharField(max_length=8, choices=OffsetUnit.choices)
    planned_on = models.DateField()
    state = models.CharField(max_length=12, choices=VisitState.choices, default=VisitState.PLANNED)
    work_item = models.ForeignKey("carepath.WorkItem", null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["planned_on", "id"]
        verbose_name = "follow-up visit"
        constraints = [models.CheckConstraint(condition=Q(state__in=VisitState.values), name="followup_state_valid")]

    def __str__(self):
        return f"{self.label} on {self.planned_on:%Y-%m-%d} ({self.state})"

    @property
    def audit_patient_id(self) -> int:
        return self.treatment.referral.patient_id
