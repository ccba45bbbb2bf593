"""The case clock: referral → conclusion within 18 weeks (docs/design.md §4, last row; NHS referral-to-treatment).

Not a step: no work item, nothing on anyone's worklist. It is a few `Timer` rows on the case (no
work item, no appointment), written and cancelled by the referral's transition services inside
their transactions:
- `start` at triage, when the priority that picks the policy is known, anchored at the referral's
  receipt (`submitted_at`): reminders before the deadline and the first escalation at it. A case
  returned to the referrer and resubmitted keeps its first `submitted_at`, so its clock keeps the
  original start;
- `stop` when the case is concluded, declined, cancelled or closed.

When they fire (`carepath.notify.effects`), `running_only` drops the timers of cases whose clock has
stopped and gives each live one a `RunningClock`: the clock as the reminder and escalation
machinery reads a work item (holder, queue, policy, deadline), so the step timers' recipients,
messages, timeline events and follow-up escalations serve the clock too.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from carepath.db import bulk
from carepath.models import CaseClock, Machine, Timer, TimerKind, TimerState, WorkItem, WorkItemStatus
from carepath.pathway import sla
from carepath.pathway.roles import Role

CLOCK = CaseClock.REFERRAL_TO_CONCLUSION
CLOCK_KINDS = frozenset({TimerKind.CLOCK_REMINDER, TimerKind.CLOCK_ESCALATION})


# --- scheduling (inside the transition's transaction) ---------------------------------------------
def start(*, referral_id: int, priority: str, submitted_at: datetime) -> None:
    """The clock's reminders still ahead and its first escalation at the deadline. Keys are unique per
    case, so starting it twice writes nothing the second time."""
    policy = sla.policy_for(CLOCK, priority)
    if policy is None:
        return
    now = timezone.now()
    deadline = sla.add_clock(submitted_at, policy.clock)
    base = {"deadline": deadline.isoformat(), "started_at": submitted_at.isoformat()}
    rows = [
        _timer(referral_id, TimerKind.CLOCK_REMINDER, at, f"remind:{hours}h", {**base, "hours_before": hours}, now)
        for hours in policy.reminder_hours
        if (at := deadline - timedelta(hours=hours)) > now
    ]
    rows.append(_timer(referral_id, TimerKind.CLOCK_ESCALATION, deadline, "escalate:1", {**base, "level": 1}, now))
    bulk.insert_later(rows, key="key")


def _timer(referral_id: int, kind: str, due_at: datetime, suffix: str, data: dict, now: datetime) -> Timer:
    # `effects` derives each follow-up escalation's key from this one's by bumping the level.
    key = f"case{referral_id}:{CLOCK}:{suffix}"
    return Timer(key=key, kind=kind, due_at=due_at, referral_id=referral_id, data=data, created_at=now)


def stop(*, referral_id: int) -> int:
    """Cancel the clock's pending timers (concluded, declined, cancelled, closed). A timer already
    claimed by a sweep is left to `running_only`, which cancels it when it fires."""
    return Timer.objects.filter(referral_id=referral_id, kind__in=CLOCK_KINDS, state=TimerState.PENDING).update(
        state=TimerState.CANCELLED, cancelled_at=timezone.now()
    )


# --- firing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunningClock:
    """A case's clock read the way reminders and escalations read a work item (`carepath.notify.effects`):
    the neurologist who holds the case's open neurology work item, else the neurology queue; the
    policy (`kind`, `priority`); the deadline. Not a row: the clock is nobody's work item."""

    priority: str
    due_at: datetime
    assigned_to: object = None  # the holding neurologist (a user), or None for the queue
    kind: str = CLOCK
    queue: str = Role.NEUROLOGIST
    machine: str = Machine.REFERRAL
    mri_request_id: None = None
    note: str = ""
    pk: None = None  # the timeline event names no work item

    @property
    def assigned_to_id(self) -> int | None:
        return self.assigned_to.pk if self.assigned_to is not None else None


def target(timer: Timer):
    """What a staff timer is about: its work item, or (a case-clock timer) its `RunningClock`."""
    return timer.clock if timer.kind in CLOCK_KINDS else timer.work_item


def running_only(timers: list[Timer], *, now: datetime) -> tuple[list[Timer], list[Timer]]:
    """(timers whose case's clock still runs, each given its `clock`; timers to cancel). Two queries
    per batch whatever its size: the cases' clock fields, and who holds their neurology items.

    A reminder that a late sweep would send after the breach is cancelled too: "runs out in about 2
    weeks" would be false, and the breach's own escalation says what is true."""
    if not timers:
        return [], []
    ids = {t.referral_id for t in timers}
    cases = _running_cases(ids)
    holders = _neurology_holders(ids)
    live, moot = [], []
    for timer in timers:
        priority = cases.get(timer.referral_id)
        deadline = parse_datetime(timer.data["deadline"])
        if priority is None or (timer.kind == TimerKind.CLOCK_REMINDER and deadline <= now):
            moot.append(timer)
            continue
        timer.clock = RunningClock(priority=priority, due_at=deadline, assigned_to=holders.get(timer.referral_id))
        live.append(timer)
    return live, moot


def _running_cases(ids: set[int]) -> dict[int, str]:
    """Case id → priority, for the cases neither concluded nor closed (declined and cancelled cases
    are closed too). Milestones, not states: carepath does not import the referral machine."""
    Case = Timer._meta.get_field("referral").related_model
    rows = Case.objects.filter(pk__in=ids, concluded_at__isnull=True, closed_at__isnull=True)
    fields = rows.values_list("pk", "priority", "requested_priority")
    return {pk: priority or requested for pk, priority, requested in fields}


def _neurology_holders(ids: set[int]) -> dict:
    """Case id → the neurologist holding its open neurology work item (the current step before any
    review or acknowledgement). A case whose neurology item nobody holds goes to the queue."""
    items = (
        WorkItem.objects.filter(
            referral_id__in=ids, status=WorkItemStatus.OPEN, queue=Role.NEUROLOGIST, assigned_to__isnull=False
        )
        .select_related("assigned_to")
        .order_by("-is_primary", "created_at", "pk")
    )
    holders = {}
    for item in items:
        holders.setdefault(item.referral_id, item.assigned_to)
    return holders
