"""The data each MRI transition requires (docs/design.md §5 keys). The machine table names these
serializers, so the API, the UI and `GET /api/v1/pathway/` validate and describe the same thing."""

from rest_framework import serializers

from carepath.pathway.text import TEXT, Input, optional_text  # refuses control characters in text (docs/security.md)

from .choices import (
    CompressionSeverity,
    LesionLocation,
    NerveSegment,
    NVCStatus,
    Protocol,
    ReportCategory,
    ScanOutcome,
    Sedation,
    Side,
    Vessel,
)


class ProtocolInput(Input):
    protocol = serializers.ChoiceField(choices=Protocol.choices)
    contrast = serializers.BooleanField(help_text="Gadolinium contrast (needed when a lesion is suspected).")
    duration_minutes = serializers.IntegerField(min_value=5, max_value=240)


# What books a scanner's time (docs/capacity.md, "Booking"); `location` only where no scanner is set up.
def scanner_field():
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The scanner (required once a scanner is set up); the location is its site and name.",
    )


def hold_field():
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Your hold on this slot ($hold): it becomes the booking.",
    )


def override_field():
    return optional_text(
        label="Reason to book over a conflict",
        help_text="Administrators only: book although the time is taken, saying why.",
    )


class ScheduleInput(Input):
    scanner = scanner_field()
    scheduled_start = serializers.DateTimeField()
    hold = hold_field()
    location = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Only where no scanner is set up: where the scan is.",
    )
    sedation = serializers.ChoiceField(
        choices=Sedation.choices, required=False, help_text="Defaults from the child's age and the suspicion of a mass."
    )
    sedation_override_reason = optional_text()
    guardian = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Guardian id for reminders; default: the first with parental responsibility.",
    )
    override_reason = override_field()


class RescheduleInput(Input):
    scanner = scanner_field()
    scheduled_start = serializers.DateTimeField()
    hold = hold_field()
    reason = serializers.CharField(max_length=TEXT)
    location = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Only where no scanner is set up; default: as before.",
    )
    override_reason = override_field()


class ReasonInput(Input):
    reason = serializers.CharField(max_length=TEXT)


class ScanFailedInput(Input):
    outcome = serializers.ChoiceField(choices=ScanOutcome.choices)
    reason = optional_text()


class MarkPerformedInput(Input):
    accession_number = serializers.RegexField(r"^[A-Za-z0-9._/-]{1,64}$", max_length=64)
    performed_at = serializers.DateTimeField()
    early_scan_reason = optional_text(
        label="Early-scan reason",
        help_text="Needed only when the scan was done on a day before its appointment.",
    )


class NVCFindingInput(Input):
    status = serializers.ChoiceField(choices=NVCStatus.choices)
    side = serializers.ChoiceField(choices=Side.choices, required=False)
    vessel = serializers.ChoiceField(choices=Vessel.choices, required=False)
    segment = serializers.ChoiceField(choices=NerveSegment.choices, required=False)
    severity = serializers.ChoiceField(choices=CompressionSeverity.choices, required=False)
    multiple = serializers.BooleanField(required=False, default=False)
    # which details go with which status: imaging/report_rules.py (the report checked as a whole)


class LesionFindingInput(Input):
    present = serializers.BooleanField()
    location = serializers.ChoiceField(choices=LesionLocation.choices, required=False)
    kind = serializers.CharField(max_length=200, required=False, allow_blank=True)


class FindingsInput(Input):
    nvc = NVCFindingInput()
    lesion = LesionFindingInput()
    arachnoid_cyst = serializers.BooleanField(required=False, default=False)
    adhesions = serializers.BooleanField(required=False, default=False)
    hydrocephalus = serializers.BooleanField(required=False, default=False)
    other = optional_text()


class SignReportInput(Input):
    findings = FindingsInput()
    impression = serializers.CharField(max_length=TEXT)
    category = serializers.ChoiceField(choices=ReportCategory.choices)


class AmendReportInput(Input):
    addendum = serializers.CharField(max_length=TEXT, help_text="What changed and why; shown with the report.")
    findings = FindingsInput(
        required=False,
        help_text="Only if the findings change: the corrected findings as a whole, as at signing (the previous "
        "ones stay visible). Left out, the findings stay as signed.",
    )
    impression = optional_text(
        help_text="Only if the impression changes: the corrected impression (the previous one stays visible).",
    )
    category = serializers.ChoiceField(
        choices=ReportCategory.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only if the category changes (the previous one stays visible).",
    )
