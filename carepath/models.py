"""Cross-cutting records shared by both apps: the timeline, work items, notifications and audit."""

from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from carepath.pathway.roles import Role


class Machine(models.TextChoices):
    REFERRAL = "referral", "Referral"
    MRI = "mri", "MRI request"


class CaseEvent(models.Model):
    """One line of a case's timeline: a transition, or something the system did (docs/design.md §3)."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", "Transition"
        CREATED = "created", "Created"
        REMINDER = "reminder", "Reminder"
        ESCALATION = "escalation", "Escalation"
        NOTE = "note", "Note"
        TAKE_OVER = "take_over", "Step taken over"
        CLINICAL_NOTE = "clinical_note", "Clinical note"  # referrals.models.CaseNote
        REASSIGNED = "reassigned", "Step reassigned"
        SNOOZED = "snoozed", "Step snoozed"

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="events")
    mri_request = models.ForeignKey(
        "imaging.MRIRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    machine = models.CharField(max_length=16, choices=Machine.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRANSITION)
    transition = models.CharField(max_length=40, blank=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["referral", "at"], name="caseevent_referral_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.transition or self.kind} {self.from_state}→{self.to_state}"


def case_reference(referral_id: int) -> str:
    """How people name a case (pages, e-mails, the API): CP- and the referral's id in six digits."""
    return f"CP-{referral_id:06d}"


def initials(given_name: str, family_name: str) -> str:
    """A child's initials: what e-mails and worklists show instead of the name (minimum necessary)."""
    return f"{given_name[:1]}{family_name[:1]}".upper()


class WorkItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class WorkItemKind(models.TextChoices):
    # primary steps of the referral machine
    TRIAGE = "triage", "Triage the referral"
    ANSWER_QUERY = "answer_query", "Answer neurology's question"
    FIRST_ASSESSMENT = "first_assessment", "First neurology assessment"
    DECIDE_NEXT_STEP = "decide_next_step", "Request MRI or conclude"
    RESULTS_REVIEW = "results_review", "Review the MRI result with the family"
    NEUROSURGERY_CONSULT = "neurosurgery_consult", "Neurosurgery consult"
    ACKNOWLEDGE_OUTCOME = "acknowledge_outcome", "Acknowledge the outcome letter"
    # primary steps of the MRI machine
    PROTOCOL_MRI = "protocol_mri", "Protocol the MRI"
    SCHEDULE_MRI = "schedule_mri", "Schedule the MRI"
    REBOOK_MRI = "rebook_mri", "Rebook the MRI"
    PERFORM_MRI = "perform_mri", "Perform the MRI and record the outcome"
    REPORT_MRI = "report_mri", "Report the MRI"
    # extra items
    WAS_NOT_BROUGHT_REVIEW = "was_not_brought_review", "Review: child was not brought"
    CRITICAL_RESULT_ACK = "critical_result_ack", "Acknowledge a critical or urgent MRI result"
    GUARDIAN_CONTACT_MISSING = "guardian_contact_missing", "Add a contact for the family"
    # steps an MDT decision opens (referrals/mdt/) and the follow-up after treatment (referrals/followup/)
    MDT_REPEAT_MRI = "mdt_repeat_mri", "Request the repeat MRI the MDT decided"
    MDT_TREATMENT = "mdt_treatment", "Give the botulinum toxin the MDT decided and record its date"
    MDT_SURGERY = "mdt_surgery", "Plan the surgery the MDT decided"
    MDT_ACTION = "mdt_action", "Act on the MDT decision"
    FOLLOW_UP_VISIT = "follow_up_visit", "Follow-up visit after treatment"


def due_or_never():
    """A work item's due time, with items that have none after every dated one: the worklists' order
    (`due_or_never(), id`), as one expression so cursor pagination can page through it and an index
    (`workitem_open_worklist`) can serve it."""
    never = datetime(9999, 12, 31, tzinfo=UTC)
    return Coalesce("due_at", Value(never, output_field=models.DateTimeField()))


class WorkItem(models.Model):
    """An open step of a case, in a role's queue, optionally claimed (FHIR Task; docs/design.md §3)."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="work_items")
    mri_request = models.ForeignKey(
        "imaging.MRIRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="work_items"
    )
    machine = models.CharField(max_length=16, choices=Machine.choices)
    kind = models.CharField(max_length=40, choices=WorkItemKind.choices)
    is_primary = models.BooleanField(default=True, help_text="The step the case's current state waits on.")
    queue = models.CharField(max_length=32, choices=Role.choices)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
    )
    status = models.CharField(max_length=16, choices=WorkItemStatus.choices, default=WorkItemStatus.OPEN)
    priority = models.CharField(max_length=16, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # out of My work until then; its due time, reminders and escalation are unchanged (docs/design.md §3)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    follows = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The step this one follows on from: a reopened case's new step names the case's last one.",
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "machine"],
                condition=Q(status="open", is_primary=True),
                name="one_open_primary_work_item_per_case_and_machine",
            ),
            models.CheckConstraint(condition=Q(status__in=WorkItemStatus.values), name="workitem_status_valid"),
        ]
        indexes = [
            # worklists (API and My work): open items in their order, read until a page is full
            models.Index(due_or_never(), "id", condition=Q(status="open"), name="workitem_open_worklist"),
            # open items of a queue, soonest due first
            models.Index(fields=["queue", "due_at"], condition=Q(status="open"), name="workitem_open_queue_due"),
            models.Index(
                fields=["assigned_to", "due_at"], condition=Q(status="open"), name="workitem_open_assignee_due"
            ),
            # MRI board and reading queue: each request's open step and its due date, read from
            # the index alone (the pages' join names the machine too)
            models.Index(
                fields=["mri_request", "due_at"],
                condition=Q(status="open", is_primary=True, machine=Machine.MRI),
                name="workitem_open_primary_mri",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.status})"


class WorkItemReassignment(models.Model):
    """A step given to a named colleague: from whom (None: the queue), to whom, by whom, why, when
    (carepath/pathway/workitems_handover.py). Rows are only ever added."""

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="reassignments")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.work_item_id}: {self.from_user_id} → {self.to_user_id}"


class Delegation(models.Model):
    """A clinician away: from `starts_on` to `ends_on` (inclusive, the service's local dates) the
    steps they hold show in the delegate's My work (carepath/pathway/delegation.py). `starts_at` and
    `ends_at` are those days' bounds in UTC, so the worklist compares them with the database's
    `now()` (a compiled query never freezes a Python time: carepath/pathway/access.py)."""

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    ended_early_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="delegation_dates_order")]
        # the worklist's delegated items: the delegations of this delegate in force now
        indexes = [models.Index(fields=["delegate", "ends_at"], name="delegation_delegate_ends")]

    def __str__(self):
        return f"{self.delegator_id} → {self.delegate_id} ({self.starts_on}–{self.ends_on})"


class Notification(models.Model):
    """A message to one user (in-app always; e-mail by the delivery task). `dedupe_key` is unique so
    a retried or re-delivered task never creates a second one (docs/design.md §4)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    work_item = models.ForeignKey(WorkItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recipient_new")]

    def __str__(self):
        return self.subject


class AuditLog(models.Model):
    """Append-only record of every write and every read of a child's record (docs/security.md).

    On PostgreSQL and SQLite a trigger refuses UPDATE and DELETE (migration 0002); the model also
    refuses them so the mistake shows up in development before it reaches the database.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        TRANSITION = "transition", "Transition"
        VIEW = "view", "View"
        LIST = "list", "List"
        EXPORT = "export", "Export"
        REPLAY = "replay", "Replay (Idempotency-Key)"
        DENIED = "denied", "Denied (403/404)"
        SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    channel = models.CharField(max_length=16, blank=True, help_text="api, web, admin, system, command")
    # The request's other end (docs/security.md, "Audit trail"); empty for tasks and commands.
    address = models.CharField(max_length=64, null=True, blank=True, help_text="client IP address")
    user_agent = models.CharField(max_length=300, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True, help_text="the API token of an API call")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionDenied("Audit rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("Audit rows are append-only.")


# Timers, SLA policies, holidays and deliveries live in their own module (docs/design.md §4).
from .timers.models import (  # noqa: E402,F401,I001
    CaseClock,
    Channel,
    ClockUnit,
    Delivery,
    DeliveryState,
    Holiday,
    SLAPolicy,
    Timer,
    TimerKind,
    TimerState,
)
