"""MRI requests, their appointments (scan attempts) and the structured neuroradiology report."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from .choices import (
    ALERT_CATEGORIES,
    OPEN_MRI_STATES,
    AppointmentStatus,
    CompressionSeverity,
    LesionLocation,
    MRIState,
    NerveSegment,
    NVCStatus,
    Protocol,
    ReportCategory,
    ScanOutcome,
    Sedation,
    Vessel,
)


class MRIRequest(models.Model):
    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="mri_requests")
    state = models.CharField(max_length=20, choices=MRIState.choices, default=MRIState.REQUESTED, db_index=True)
    version = models.PositiveIntegerField(default=1)
    priority = models.CharField(max_length=8, help_text="Copied from the referral's triaged priority.")

    clinical_question = models.TextField()
    suspected_lesion = models.BooleanField(
        default=False, help_text="A posterior-fossa or CPA mass is suspected (contrast, anaesthesia)."
    )
    red_flag = models.BooleanField(
        default=False,
        help_text="The referral has a red flag: copied when the MRI is requested (red flags change only "
        "before triage), so the board ranks by it without reading every case.",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()

    protocol = models.CharField(max_length=32, choices=Protocol.choices, blank=True)
    contrast = models.BooleanField(null=True)
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    protocoled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    protocoled_at = models.DateTimeField(null=True, blank=True)

    appointment = models.ForeignKey(
        "Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The current booking, if any.",
    )
    accession_number = models.CharField(max_length=64, blank=True)
    performed_at = models.DateTimeField(null=True, blank=True)
    early_scan_reason = models.TextField(
        blank=True, help_text="Why the scan was done on a day before its appointment (imaging/rules.py)."
    )
    cancel_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "MRI request"
        constraints = [
            models.UniqueConstraint(
                fields=["referral"], condition=Q(state__in=OPEN_MRI_STATES), name="one_open_mri_request_per_referral"
            ),
            models.UniqueConstraint(
                fields=["accession_number"], condition=~Q(accession_number=""), name="unique_accession_number"
            ),
            models.CheckConstraint(condition=Q(state__in=MRIState.values), name="mri_state_valid"),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__gte=5, duration_minutes__lte=240),
                name="mri_duration_range",
            ),
        ]
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="mrirequest_requested"),  # the API's list order
            # the reading queue's two lists, oldest first: a page is read off the index
            models.Index(
                fields=["performed_at", "id"], condition=Q(state=MRIState.PERFORMED), name="mrirequest_to_report"
            ),
            models.Index(
                fields=["requested_at", "id"], condition=Q(state=MRIState.REQUESTED), name="mrirequest_to_protocol"
            ),
            # imaging staff see ended requests for a while after their last change (carepath/pathway/access.py)
            models.Index(
                fields=["updated_at"],
                condition=Q(state__in=[MRIState.REPORTED, MRIState.CANCELLED]),
                name="mrirequest_closed_recent",
            ),
        ]

    def __str__(self):
        return f"MRI-{self.pk:06d}" if self.pk else "new MRI request"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id


class Appointment(models.Model):
    """One booking of the scan; a reschedule or rebooking creates a new one, so attempts keep their history."""

    mri_request = models.ForeignKey(MRIRequest, on_delete=models.CASCADE, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    location = models.CharField(max_length=200)
    sedation = models.CharField(max_length=24, choices=Sedation.choices)
    sedation_default = models.CharField(max_length=24, choices=Sedation.choices)
    sedation_override_reason = models.TextField(blank=True)
    guardian = models.ForeignKey(
        "referrals.Guardian",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who receives the appointment and fasting reminders.",
    )
    # Fasting cut-offs as clock times (UTC; shown in the family's time zone); empty without sedation.
    solids_until = models.DateTimeField(null=True, blank=True)
    milk_until = models.DateTimeField(null=True, blank=True)
    clear_fluids_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    scan_outcome = models.CharField(max_length=20, choices=ScanOutcome.choices, blank=True)
    status_reason = models.TextField(blank=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField()

    class Meta:
        ordering = ["booked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mri_request"],
                condition=Q(status=AppointmentStatus.BOOKED),
                name="one_booked_appointment_per_request",
            ),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="appointment_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.start:%Y-%m-%d %H:%M} at {self.location} ({self.get_status_display()})"

    @property
    def audit_patient_id(self) -> int:
        return self.mri_request.referral.patient_id


class NeuroradiologyReport(models.Model):
    """The structured report (docs/design.md §3 report findings)."""

    mri_request = models.OneToOneField(MRIRequest, on_delete=models.PROTECT, related_name="report")
    findings = models.JSONField(encoder=DjangoJSONEncoder)
    impression = models.TextField()
    category = models.CharField(max_length=24, choices=ReportCategory.choices)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=ReportCategory.values), name="report_category_valid")
        ]
        indexes = [
            models.Index(fields=["-signed_at", "-id"], name="report_signed"),  # the API's list order
            # the reading queue's critical and urgent results awaiting neurology's acknowledgement
            models.Index(
                fields=["signed_at"],
                condition=Q(category__in=sorted(ALERT_CATEGORIES), acknowledged_at__isnull=True),
                name="report_unacknowledged",
            ),
        ]

    def __str__(self):
        return f"Report for {self.mri_request} ({self.get_category_display()})"

    @property
    def audit_patient_id(self) -> int:
        return self.mri_request.referral.patient_id

    def findings_summary(self) -> str:
        """The structured findings in words, with labels rather than codes."""
        return summarise_findings(self.findings or {})


def _label(choices, code) -> str:
    return str(dict(choices.choices).get(code, code)) if code else ""


def summarise_findings(findings: dict) -> str:
    nvc, lesion = findings.get("nvc") or {}, findings.get("lesion") or {}
    parts = [f"Neurovascular compression: {_label(NVCStatus, nvc.get('status')).lower() or 'not stated'}"]
    if nvc.get("status") == NVCStatus.PRESENT:
        detail = [
            nvc.get("side", ""),
            _label(Vessel, nvc.get("vessel")),
            _label(NerveSegment, nvc.get("segment")).lower(),
            _label(CompressionSeverity, nvc.get("severity")).lower(),
            "multiple" if nvc.get("multiple") else "",
        ]
        parts[0] += " (" + ", ".join(d for d in detail if d) + ")"
    if lesion.get("present"):
        kind = f", {lesion['kind']}" if lesion.get("kind") else ""
        parts.append(f"lesion: {_label(LesionLocation, lesion.get('location')).lower()}{kind}")
    else:
        parts.append("no lesion")
    parts += [
        name
        for key, name in (
            ("arachnoid_cyst", "arachnoid cyst"),
            ("adhesions", "arachnoid adhesions"),
            ("hydrocephalus", "hydrocephalus"),
        )
        if findings.get(key)
    ]
    if findings.get("other"):  # free text, often a sentence with its own full stop
        parts.append(findings["other"].strip().rstrip("."))
    return "; ".join(parts) + "."


class ReportAddendum(models.Model):
    report = models.ForeignKey(NeuroradiologyReport, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    changes = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text='What the amendment changed: {"category": {"before": …, "after": …}, "impression": {…}}.',
    )

    class Meta:
        ordering = ["at"]

    def __str__(self):
        return f"Addendum to {self.report} ({self.at:%Y-%m-%d})"

    @property
    def category_change(self) -> tuple[str, str] | None:
        """(before, after) as labels, when this amendment changed the category."""
        change = (self.changes or {}).get("category")
        return (_label(ReportCategory, change["before"]), _label(ReportCategory, change["after"])) if change else None

    @property
    def findings_change(self) -> tuple[str, str] | None:
        """(before, after) in words, when this amendment corrected the findings."""
        change = (self.changes or {}).get("findings")
        return (summarise_findings(change["before"]), summarise_findings(change["after"])) if change else None


class ReportDraft(models.Model):
    """A structured report being written, saved before it is signed: its author's alone, shown only
    on the reading page to that neuroradiologist, never to the case's other readers (docs/decisions.md,
    "A report that cannot contradict itself"). Deleted when the report is signed."""

    mri_request = models.ForeignKey(MRIRequest, on_delete=models.CASCADE, related_name="report_drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict, help_text="The report as far as written, in `sign_report`'s shape.")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mri_request", "author"], name="one_report_draft_per_author")]

    def __str__(self):
        return f"Draft report for {self.mri_request} by {self.author}"

    @property
    def audit_patient_id(self) -> int:
        return self.mri_request.referral.patient_id


# The capacity models (scanners, sessions, reservations) live in their own module; importing them here
# registers them with the `imaging` app.
from .capacity.models import (  # noqa: E402, F401
    AnaesthesiaList,
    Closure,
    Reservation,
    Scanner,
    ScannerSession,
    Site,
    SlotRule,
)
