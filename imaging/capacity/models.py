"""MRI capacity (docs/capacity.md): where scans can happen (sites, scanners), when (weekly sessions,
anaesthesia lists, closures), how long a scan takes (slot rules), and the time each hold or booking
takes (`Reservation`, the busy slots).

Free slots are not rows: they are computed from the sessions minus the live reservations
(imaging/capacity/finder.py). What cannot overlap is enforced by the database: on PostgreSQL by
exclusion constraints over the reservations' time ranges (a scanner's, including turnaround; an
anaesthesia list's; a child's); on SQLite by the serialised write transactions plus the same check in
the booking service (imaging/capacity/booking.py).

The models live in this sub-package and belong to the `imaging` app (imported by imaging/models.py).
"""

import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from imaging.choices import Protocol, Sedation


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class FieldStrength(models.TextChoices):
    T1_5 = "1.5T", "1.5 T"
    T3 = "3T", "3 T"


class Modality(models.TextChoices):
    MR = "MR", "MRI"


class ReservationKind(models.TextChoices):
    HOLD = "hold", "Held"
    BOOKING = "booking", "Booked"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresExclusion(ExclusionConstraint):
    """An exclusion constraint on PostgreSQL and nothing elsewhere: SQLite has no such constraint, and
    its writes are serialised (`transaction_mode` IMMEDIATE), so the booking service's own overlap
    check, made inside the write transaction, is enough there."""

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if _pg(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if _pg(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if _pg(schema_editor) else None

    def validate(self, model, instance, exclude=None, using="default"):
        from django.db import connections

        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)


def _pg(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _calendar_token() -> str:
    return secrets.token_urlsafe(24)


class Site(models.Model):
    """A hospital site with MRI scanners; its sessions are wall-clock times in its time zone."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default=settings.TIME_ZONE)
    address = models.TextField(blank=True, help_text="Where families go; shown in appointment letters.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Scanner(models.Model):
    """An MRI scanner (a FHIR Schedule's actor)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="scanners")
    name = models.CharField(max_length=100)
    modality = models.CharField(max_length=8, choices=Modality.choices, default=Modality.MR)
    field_strength = models.CharField(max_length=8, choices=FieldStrength.choices)
    takes_sedation = models.BooleanField(
        default=False, help_text="Nurse-led sedation can be given here (monitoring, recovery bay)."
    )
    takes_general_anaesthesia = models.BooleanField(
        default=False, help_text="MR-safe anaesthetic machine; GA scans also need an anaesthesia list."
    )
    open_on_holidays = models.BooleanField(default=False, help_text="Runs its sessions on the holiday calendar's days.")
    active = models.BooleanField(default=True)
    calendar_token = models.CharField(
        max_length=64,
        unique=True,
        default=_calendar_token,
        help_text="Secret in the scanner's .ics feed address; change it to revoke the old address.",
    )

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="scanner_name_unique_per_site")]

    def __str__(self):
        return f"{self.site.name} — {self.name}"

    def takes(self, sedation: str) -> bool:
        """Whether this scanner can scan a child under this sedation plan."""
        if sedation == Sedation.GENERAL_ANAESTHESIA:
            return self.takes_general_anaesthesia
        if sedation == Sedation.NURSE_SEDATION:
            return self.takes_sedation or self.takes_general_anaesthesia
        return True


class WeeklySession(models.Model):
    """Shared shape of the weekly templates: a weekday, a time span, and the dates it applies between."""

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Last day it applies; empty: until changed.")

    class Meta:
        abstract = True


class ScannerSession(WeeklySession):
    """When a scanner is staffed for scans, week by week (the availability template)."""

    scanner = models.ForeignKey(Scanner, on_delete=models.CASCADE, related_name="sessions")

    class Meta:
        ordering = ["scanner", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="scanner_session_ends_after_start")
        ]

    def __str__(self):
        return f"{self.scanner}: {self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class AnaesthesiaList(WeeklySession):
    """A session when an anaesthetic team is present at a site: general-anaesthesia scans must lie
    inside one, one child at a time."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="anaesthesia_lists")
    name = models.CharField(max_length=100, help_text="e.g. Tuesday morning paediatric GA list")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="anaesthesia_list_ends_after_start")
        ]

    def __str__(self):
        return f"{self.site}: {self.name} ({self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M})"


class Closure(models.Model):
    """An exception to the weekly templates: a scanner, an anaesthesia list or a whole site closed for
    a time (maintenance, training, staff absence). Bank holidays come from the holiday calendar."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="closures")
    scanner = models.ForeignKey(
        Scanner,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="closures",
        help_text="Empty: all of the site.",
    )
    anaesthesia_list = models.ForeignKey(
        AnaesthesiaList, null=True, blank=True, on_delete=models.CASCADE, related_name="closures"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="closure_ends_after_start")]

    def __str__(self):
        what = self.scanner or self.anaesthesia_list or self.site
        return f"{what} closed {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}: {self.reason}"


class SlotRule(models.Model):
    """How long a scan takes on the table, and the turnaround after it, by sedation plan (and
    protocol, where one needs longer). A rule with no protocol applies to every protocol."""

    protocol = models.CharField(max_length=32, choices=Protocol.choices, blank=True)
    sedation = models.CharField(max_length=24, choices=Sedation.choices)
    minutes = models.PositiveSmallIntegerField()
    turnaround_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Room turnaround (and recovery hand-over) after the scan; nothing else starts in it."
    )

    class Meta:
        ordering = ["sedation", "protocol"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "sedation"], name="one_slot_rule_per_protocol_and_sedation"),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="slot_rule_minutes_positive"),
        ]

    def __str__(self):
        protocol = self.get_protocol_display() if self.protocol else "any protocol"
        return f"{self.get_sedation_display()}, {protocol}: {self.minutes} min + {self.turnaround_minutes} min"


_LIVE = Q(released_at__isnull=True, override_reason="")


class Reservation(models.Model):
    """Time taken on a scanner (a FHIR Slot with status busy or busy-tentative): a hold, which lapses at
    `expires_at`, or a booking, tied to its `Appointment`. Releasing keeps the row (`released_at`).

    A reservation made by an admin over a conflict carries `override_reason` and stands outside the
    exclusion constraints; everything else cannot overlap, per scanner (scan plus turnaround), per
    anaesthesia list (GA scans) and per child (the scans themselves)."""

    scanner = models.ForeignKey(Scanner, on_delete=models.PROTECT, related_name="reservations")
    anaesthesia_list = models.ForeignKey(
        AnaesthesiaList, null=True, blank=True, on_delete=models.PROTECT, related_name="reservations"
    )
    mri_request = models.ForeignKey("imaging.MRIRequest", on_delete=models.CASCADE, related_name="reservations")
    patient = models.ForeignKey("referrals.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=ReservationKind.choices)
    sedation = models.CharField(max_length=24, choices=Sedation.choices)
    start = models.DateTimeField()
    end = models.DateTimeField(help_text="When the scan ends.")
    busy_until = models.DateTimeField(help_text="When the scanner is free again (the end plus turnaround).")
    appointment = models.OneToOneField(
        "imaging.Appointment", null=True, blank=True, on_delete=models.CASCADE, related_name="reservation"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When a hold lapses.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=200, blank=True)
    override_reason = models.TextField(blank=True, help_text="Why an admin booked over a conflict.")

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["scanner", "start"], name="reservation_scanner_start"),
            models.Index(fields=["patient", "start"], name="reservation_patient_start"),
            # the finder's GA search: one list's reservations of a range (docs/benchmarks.md, run 12)
            models.Index(
                fields=["anaesthesia_list", "start"],
                name="reservation_list_start",
                condition=Q(anaesthesia_list__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="reservation_ends_after_start"),
            models.CheckConstraint(condition=Q(busy_until__gte=F("end")), name="reservation_turnaround_not_negative"),
            models.CheckConstraint(
                condition=Q(kind=ReservationKind.BOOKING) | Q(expires_at__isnull=False), name="hold_has_expiry"
            ),
            models.CheckConstraint(
                condition=Q(kind=ReservationKind.HOLD) | Q(appointment__isnull=False) | Q(released_at__isnull=False),
                name="live_booking_has_appointment",
            ),
            PostgresExclusion(
                name="no_double_booked_scanner",
                expressions=[
                    (TsTzRange("start", "busy_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("scanner", RangeOperators.EQUAL),
                ],
                condition=_LIVE,
            ),
            PostgresExclusion(
                name="no_double_booked_anaesthesia_list",
                expressions=[
                    (TsTzRange("start", "busy_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("anaesthesia_list", RangeOperators.EQUAL),
                ],
                condition=_LIVE & Q(anaesthesia_list__isnull=False),
            ),
            PostgresExclusion(
                name="no_double_booked_child",
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("patient", RangeOperators.EQUAL),
                ],
                condition=_LIVE,
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.scanner} {self.start:%Y-%m-%d %H:%M}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id
