"""Patients, guardians and the pathway case (Referral) with its assessment, consults and outcome.

Fields only; every change of state goes through `referrals.services` (docs/architecture.md).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q

from carepath.models import case_reference, initials
from carepath.pathway import identity
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role
from imaging.choices import Side

from .choices import (
    ConsultRecommendation,
    ContactPreference,
    Diagnosis,
    Frequency,
    Plan,
    ReferralState,
    SeverityScale,
    Sex,
)

OPEN_STATES = tuple(
    s for s in ReferralState.values if s not in {ReferralState.CLOSED, ReferralState.DECLINED, ReferralState.CANCELLED}
)


class Patient(models.Model):
    mrn = models.CharField("MRN", max_length=32, help_text="Medical record number")
    # what is compared (carepath/pathway/identity.py): written by `save` from the MRN and the name
    mrn_key = models.CharField(
        "MRN, normalised", max_length=64, unique=True, editable=False, help_text="NFKC, trimmed, case-folded."
    )
    name_key = models.CharField("name, normalised", max_length=210, editable=False, default="")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="The family's time zone for reminders; blank means the service's."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [
            # a near-duplicate (same name and birth date, another MRN) is looked for on every registration
            models.Index(fields=["birth_date", "name_key"], name="patient_birth_name"),
            # staff search by name: a prefix of "family given" (LIKE 'morgan al%' on PostgreSQL)
            models.Index(fields=["name_key"], opclasses=["varchar_pattern_ops"], name="patient_name_prefix"),
        ]

    def __str__(self):
        return f"{self.family_name.upper()}, {self.given_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        """Every write path (services, admin, fixtures) stores the MRN cleaned and its keys with it."""
        self.mrn = identity.clean_mrn(self.mrn)
        self.mrn_key = identity.mrn_key(self.mrn)
        self.name_key = identity.name_key(self.given_name, self.family_name)
        fields = kwargs.get("update_fields")
        if fields is not None:
            kwargs["update_fields"] = {*fields, "mrn", "mrn_key", "name_key"}
        super().save(*args, **kwargs)

    def clean(self):
        """The admin's form: an MRN taken by another child (once normalised) is a field error, not a
        database error."""
        key = identity.mrn_key(self.mrn)
        if Patient.objects.filter(mrn_key=key).exclude(pk=self.pk).exists():
            raise ValidationError({"mrn": "Another patient is registered with this MRN."})

    @property
    def audit_patient_id(self) -> int:
        return self.pk

    @property
    def initials(self) -> str:
        return initials(self.given_name, self.family_name)


class PatientShare(models.Model):
    """A clinician who registered a child someone else had registered first, confirming the MRN, the
    family name and the date of birth: the record is shared with them; each referral stays its own
    referrer's (carepath/pathway/access.py, docs/decisions.md "Patient identity")."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="shares")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    shared_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinician", "patient"], name="patient_share_once")]

    def __str__(self):
        return f"{self.patient} shared with {self.clinician}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id


class Guardian(models.Model):
    """A parent or carer: no login, a contact for appointment reminders."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="guardians")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=50, help_text="e.g. mother, father, foster carer")
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    has_parental_responsibility = models.BooleanField(default=True)
    contact_preference = models.CharField(
        max_length=8, choices=ContactPreference.choices, default=ContactPreference.BOTH
    )

    class Meta:
        ordering = ["-has_parental_responsibility", "id"]

    def __str__(self):
        return f"{self.name} ({self.relationship})"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id

    @property
    def has_contact(self) -> bool:
        return self.contact_preference != ContactPreference.NONE and bool(self.phone or self.email)


class Referral(models.Model):
    """One child's case through the pathway (docs/design.md §3)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_made",
        help_text="The referring pediatrician, who answers queries and acknowledges the outcome.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=24, choices=ReferralState.choices, default=ReferralState.SUBMITTED, db_index=True
    )
    version = models.PositiveIntegerField(default=1)

    # what the referrer tells us
    reason = models.TextField()
    symptom_onset = models.DateField()
    side = models.CharField(max_length=10, choices=Side.choices)
    muscles = models.JSONField(default=list, help_text="Muscle codes, the first one affected first.")
    spread = models.BooleanField(default=False, help_text="Twitching spread from the eye to the mouth or cheek.")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, blank=True)
    red_flags = models.JSONField(default=list, blank=True)
    requested_priority = models.CharField(max_length=8, choices=Priority.choices)
    requested_priority_reason = models.TextField(
        blank=True, help_text="Why a referral with a red flag is requested below asap (referrals/rules.py)."
    )
    clinical_notes = models.TextField(blank=True)
    over_18_reason = models.TextField(
        blank=True, help_text="Why someone aged 18 or over at referral is referred to this children's pathway."
    )

    # triage and its outcomes
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    priority_override_reason = models.TextField(blank=True)
    return_reason = models.TextField(blank=True)
    referrer_response = models.TextField(blank=True)
    decline_reason = models.TextField(blank=True)
    decline_advice = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    was_not_brought_count = models.PositiveSmallIntegerField(default=0)
    loop_closed_unacknowledged = models.BooleanField(default=False)

    # milestones (also drive who may see the case: carepath/pathway/access.py)
    submitted_at = models.DateTimeField()
    triaged_at = models.DateTimeField(null=True, blank=True)
    mri_requested_at = models.DateTimeField(null=True, blank=True)
    # when the last MRI request ended (report signed or request cancelled); None while one is open.
    # People in imaging see the case until CAREPATH_IMAGING_ACCESS_DAYS after it (carepath/pathway/access.py).
    imaging_closed_at = models.DateTimeField(null=True, blank=True)
    neurosurgery_requested_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ReferralState.values), name="referral_state_valid"),
            models.CheckConstraint(condition=Q(priority__in=["", *Priority.values]), name="referral_priority_valid"),
            models.CheckConstraint(
                condition=Q(requested_priority__in=Priority.values), name="referral_requested_priority_valid"
            ),
        ]
        indexes = [
            # the API's list order, `-submitted_at, -id` (carepath/api/pagination.py), filtered or not
            models.Index(fields=["-submitted_at", "-id"], name="referral_submitted"),
            models.Index(fields=["state", "priority", "-submitted_at", "-id"], name="referral_state_priority"),
            models.Index(fields=["referred_by", "-submitted_at", "-id"], name="referral_referrer"),
            # imaging staff's time-limited view: still open (NULL) or ended within the window
            models.Index(
                fields=["imaging_closed_at"],
                condition=Q(mri_requested_at__isnull=False),
                name="referral_imaging_window",
            ),
        ]

    def __str__(self):
        return case_reference(self.pk) if self.pk else "new referral"

    @property
    def reference(self) -> str:
        return str(self)

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id

    @property
    def effective_priority(self) -> str:
        return self.priority or self.requested_priority

    @property
    def first_muscle(self) -> str:
        return self.muscles[0] if self.muscles else ""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Assessment(models.Model):
    """The first neurology assessment."""

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="assessment")
    findings = models.TextField()
    working_diagnosis = models.CharField(max_length=32, choices=Diagnosis.choices)
    brow_lift_sign = models.BooleanField(
        null=True, help_text="Babinski's other sign: eyebrow rises as the eye closes (favours HFS)."
    )
    severity_scale = models.CharField(max_length=16, choices=SeverityScale.choices)
    severity_score = models.PositiveSmallIntegerField()
    mri_indicated = models.BooleanField()
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField()

    def __str__(self):
        return f"Assessment of {self.referral}: {self.get_working_diagnosis_display()}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


class NeurosurgeryConsult(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="consults")
    question = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    recommendation = models.CharField(max_length=20, choices=ConsultRecommendation.choices, blank=True)
    note = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"], condition=Q(answered_at__isnull=True), name="one_open_consult_per_referral"
            )
        ]

    def __str__(self):
        return f"Neurosurgery consult for {self.referral}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


class Outcome(models.Model):
    """The conclusion and the letter to the referrer; acknowledged to close the loop."""

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="outcome")
    diagnosis = models.CharField(max_length=32, choices=Diagnosis.choices)
    plan = models.CharField(max_length=20, choices=Plan.choices)
    follow_up = models.TextField(blank=True)
    letter = models.TextField()
    imaging_waived_reason = models.TextField(blank=True)
    concluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    concluded_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Outcome of {self.referral}: {self.get_diagnosis_display()}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


class CaseNote(models.Model):
    """A clinical note on a case, append-only (docs/design.md §3, "Notes"): who wrote it, in which
    role, when. A correction is a new note naming the one it corrects (`amends`); no note is ever
    changed or deleted (this model, the admin and the API refuse it; the database refuses UPDATE,
    migration 0007). One amendment per note (unique `amends`): corrections form a chain."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=32, choices=Role.choices)
    written_at = models.DateTimeField()
    text = models.TextField()
    amends = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amendment",
        help_text="The note it corrects.",
    )
    mentioned = models.JSONField(default=list, blank=True, help_text="Usernames told about this note (@mentions).")

    class Meta:
        ordering = ["written_at", "id"]
        indexes = [models.Index(fields=["referral", "written_at"], name="casenote_referral_at")]

    def __str__(self):
        return f"Note on {self.referral_id and case_reference(self.referral_id)} by {self.author_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("Notes are append-only: write an amendment instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("Notes are append-only: write an amendment instead.")

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


# MDT meetings and the follow-up after treatment live in their own packages (docs/design.md).
from .followup.models import (  # noqa: E402,F401,I001
    FollowUpTemplate,
    FollowUpTemplateVisit,
    FollowUpVisit,
    Treatment,
)
from .mdt.models import MDTCase, MDTDecision, MDTMeeting  # noqa: E402,F401,I001

# The case's attachments live in their own package (referrals/attachments/); imported here so Django finds them.
from .attachments.models import Attachment, UploadLink  # noqa: E402,F401,I001
