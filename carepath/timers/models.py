"""Time-driven records (docs/design.md §4): SLA policies, the holiday calendar, timers and outbound
deliveries. Imported at the bottom of `carepath.models` so Django registers them with the app.

The database is the queue: a timer or a delivery is a row with a state; Celery only carries ids
and can lose a message without losing work (`tick` re-queues what is due or stuck).
"""

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from carepath.pathway.priority import PRIORITY_WORDS
from carepath.pathway.roles import Role


class ClockUnit(models.TextChoices):
    HOURS = "hours", "Hours"
    DAYS = "days", "Calendar days"
    WORKING_DAYS = "working_days", "Working days"


def validate_hours_list(value: str) -> None:
    try:
        hours = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationError("Whole hours separated by commas, e.g. 168,24.") from None
    if any(h <= 0 for h in hours):
        raise ValidationError("Each reminder must be a positive number of hours before the deadline.")


class SLAPolicy(models.Model):
    """How long a step may take, per work-item kind and priority, with its reminders and escalation.

    Seeded from `carepath.pathway.sla.DEFAULTS` (migration 0004); an admin may edit them. A missing row
    falls back to the code default, so deleting a row never leaves a step without a clock.
    """

    kind = models.CharField(max_length=40, help_text="The work item kind (or case clock) this policy times.")
    priority = models.CharField(max_length=8, choices=list(PRIORITY_WORDS.items()))
    amount = models.PositiveIntegerField()
    unit = models.CharField(max_length=16, choices=ClockUnit.choices)
    reminder_hours_before = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_hours_list],
        help_text="Reminders before the deadline, in hours, comma-separated (e.g. 168,24).",
    )
    escalate_every_hours = models.PositiveIntegerField(
        default=24, help_text="After the deadline: escalate now, then again at this interval until done."
    )
    escalate_to = models.CharField(
        max_length=32,
        choices=Role.choices,
        default=Role.ADMIN,
        help_text="From the second escalation on, this role is told as well as the queue.",
    )
    source = models.CharField(max_length=200, help_text="Where the number comes from (a standard, or our choice).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [models.UniqueConstraint(fields=["kind", "priority"], name="one_sla_policy_per_kind_priority")]

    def __str__(self):
        return f"{self.kind} / {self.priority}: {self.amount} {self.get_unit_display().lower()}"

    @property
    def reminder_hours(self) -> list[int]:
        return sorted({int(p) for p in self.reminder_hours_before.split(",") if p.strip()}, reverse=True)


class Holiday(models.Model):
    """A day that is not a working day (bank holidays); working-day clocks skip it."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}"


class CaseClock(models.TextChoices):
    """Clocks that time a whole case rather than one step (docs/design.md §4, last row). Their SLA policies
    are keyed like a work-item kind, but no work item exists: nothing goes on a worklist."""

    REFERRAL_TO_CONCLUSION = "referral_to_conclusion", "Referral to conclusion (18-week standard)"


class TimerKind(models.TextChoices):
    REMINDER = "reminder", "Reminder before a deadline"
    ESCALATION = "escalation", "Escalation after a deadline"
    CLOCK_REMINDER = "clock_reminder", "Case clock: reminder before the breach"
    CLOCK_ESCALATION = "clock_escalation", "Case clock: escalation after the breach"
    ALERT = "alert", "Immediate alert (critical result, new review)"
    FAMILY_REMINDER = "family_reminder", "Appointment reminder to the family"
    FLAG_MISSED = "flag_missed", "Flag a missed MRI appointment"
    AUTO_CLOSE = "auto_close", "Close an unacknowledged outcome"
    RELEASE_HOLD = "release_hold", "Release a lapsed MRI slot hold"
    FOLLOW_UP_MISSED = "follow_up_missed", "Open a review for a missed follow-up visit"


class TimerState(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRED = "fired", "Fired (work queued)"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    DEAD = "dead", "Dead letter (failed after retries)"


class Timer(models.Model):
    """Something to do at `due_at` for a case (docs/design.md §4). Written in the transaction that makes
    it due, cancelled in the one that makes it moot; `key` is unique so creating it twice is a no-op."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=TimerKind.choices)
    state = models.CharField(max_length=12, choices=TimerState.choices, default=TimerState.PENDING)
    due_at = models.DateTimeField()
    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="timers")
    work_item = models.ForeignKey(
        "carepath.WorkItem", null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    appointment = models.ForeignKey(
        "imaging.Appointment", null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(state__in=TimerState.values), name="timer_state_valid")]
        indexes = [
            # carepath.tick: claim pending timers that are due (SELECT … FOR UPDATE SKIP LOCKED).
            models.Index(fields=["due_at"], condition=Q(state="pending"), name="timer_pending_due"),
            # carepath.tick: re-claim fired timers whose work was lost (worker died, broker restarted).
            models.Index(fields=["fired_at"], condition=Q(state="fired"), name="timer_fired_stuck"),
            # transitions: cancel a work item's or an appointment's open timers.
            models.Index(fields=["work_item"], condition=Q(state="pending"), name="timer_pending_item"),
            models.Index(fields=["appointment"], condition=Q(state="pending"), name="timer_pending_appointment"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.due_at:%Y-%m-%d %H:%M} ({self.state})"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead letter (gave up)"
    SKIPPED = "skipped", "Skipped (no address)"


class Delivery(models.Model):
    """One message on one channel to one address: an e-mail copy of a staff notification, or a
    family reminder. `dedupe_key` is unique so a re-run creates nothing new; `state` and the claim
    make sending idempotent (only pending/failed rows nobody holds a live claim on are sent)."""

    dedupe_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    notification = models.ForeignKey(
        "carepath.Notification", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    guardian = models.ForeignKey(
        "referrals.Guardian", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(help_text="When `tick` may (re)queue this row if it is still unsent.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A sender claims a chunk of rows (its token, until `claimed_until`) instead of holding a row lock
    # and a transaction per message; the state stays pending/failed until the message has gone.
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.CheckConstraint(condition=Q(state__in=DeliveryState.values), name="delivery_state_valid")]
        indexes = [
            # carepath.tick: re-queue unsent deliveries whose message was lost or whose retry is due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state__in=["pending", "failed"]), name="delivery_unsent_due"
            ),
            # admin and health: dead letters.
            models.Index(fields=["created_at"], condition=Q(state="dead"), name="delivery_dead"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.to} ({self.state})"

    @property
    def audit_patient_id(self) -> int | None:
        """The child a message was about (audit rows of the admin's delivery pages name them)."""
        return self.referral.patient_id if self.referral_id else None
