"""Service-level deadlines for work items and for the case clock (docs/design.md §4).

The clocks live in the database (`SLAPolicy`, editable in the admin; `Holiday` for the working-day
calendar). `DEFAULTS` below is the seed table (migration 0004 copies it) and the fallback when a
row is missing: per work-item kind and priority a duration and its unit, with the source of the
number. `policy_for` answers "how long, when to remind, when and whom to escalate"; `due_for`
turns a start time into a due time.

Policies and holidays are cached per process for `CACHE_SECONDS` and dropped at once when this
process saves one, so an admin's edit reaches every worker within a few minutes.
"""

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from carepath.models import CaseClock
from carepath.models import WorkItemKind as K
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role

ASAP, URGENT, ROUTINE = Priority.ASAP.value, Priority.URGENT.value, Priority.ROUTINE.value
H, D, WD = "hours", "days", "working_days"
CACHE_SECONDS = 300


@dataclass(frozen=True)
class Clock:
    amount: int
    unit: str  # "hours", "days" or "working_days"


@dataclass(frozen=True)
class Policy:
    kind: str
    priority: str
    clock: Clock
    reminder_hours: tuple[int, ...]  # before the deadline, largest first
    escalate_every_hours: int
    escalate_to: str
    source: str


def _same(clock: Clock) -> dict[str, Clock]:
    return {ASAP: clock, URGENT: clock, ROUTINE: clock}


# kind → priority → clock (the docs/design.md §4 table; the rest is our choice, editable by the admin).
DEFAULTS: dict[str, dict[str, Clock]] = {
    K.TRIAGE: {ASAP: Clock(8, H), URGENT: Clock(2, WD), ROUTINE: Clock(5, WD)},
    K.FIRST_ASSESSMENT: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(28, D)},
    K.PROTOCOL_MRI: {ASAP: Clock(4, H), URGENT: Clock(1, WD), ROUTINE: Clock(2, WD)},
    K.SCHEDULE_MRI: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(42, D)},
    K.REBOOK_MRI: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(42, D)},
    K.PERFORM_MRI: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(42, D)},
    K.REPORT_MRI: {ASAP: Clock(12, H), URGENT: Clock(2, D), ROUTINE: Clock(7, D)},
    K.CRITICAL_RESULT_ACK: {ASAP: Clock(1, H), URGENT: Clock(1, H), ROUTINE: Clock(1, WD)},
    K.ACKNOWLEDGE_OUTCOME: _same(Clock(5, WD)),
    # a question back to the referrer must not park a red-flag child for a week (migration 0017)
    K.ANSWER_QUERY: {ASAP: Clock(1, WD), URGENT: Clock(2, WD), ROUTINE: Clock(5, WD)},
    K.DECIDE_NEXT_STEP: {ASAP: Clock(1, D), URGENT: Clock(2, WD), ROUTINE: Clock(5, WD)},
    K.RESULTS_REVIEW: {ASAP: Clock(2, D), URGENT: Clock(7, D), ROUTINE: Clock(14, D)},
    K.NEUROSURGERY_CONSULT: {ASAP: Clock(2, D), URGENT: Clock(14, D), ROUTINE: Clock(28, D)},
    K.WAS_NOT_BROUGHT_REVIEW: _same(Clock(2, WD)),
    K.GUARDIAN_CONTACT_MISSING: _same(Clock(1, WD)),
    # what an MDT decision opens (referrals/mdt/services.py)
    K.MDT_REPEAT_MRI: _same(Clock(5, WD)),
    K.MDT_TREATMENT: _same(Clock(28, D)),
    K.MDT_SURGERY: _same(Clock(14, D)),
    K.MDT_ACTION: _same(Clock(5, WD)),
    # a follow-up visit's step opens two weeks before its planned date and is due a week after it
    # (referrals/followup/services.py): reminders at the planned date and the day before the due time
    K.FOLLOW_UP_VISIT: _same(Clock(21, D)),
    # The case clock (carepath/pathway/case_clock.py): 18 calendar weeks, as RTT counts them. docs/design.md gives
    # only the routine figure; 18 weeks is the outer limit for every priority (an asap or urgent case
    # is held to far tighter step clocks on the way), and the admin may tighten it.
    CaseClock.REFERRAL_TO_CONCLUSION: _same(Clock(18 * 7, D)),
}
OUR_CHOICE = "design choice (CarePath), editable"
SOURCES: dict[str, str] = {
    K.TRIAGE: "design: same day / 2 / 5 working days",
    K.FIRST_ASSESSMENT: "NICE NG12 (48 h); VA 28-day access standard",
    K.PROTOCOL_MRI: "design: 4 h / 1 / 2 working days",
    K.SCHEDULE_MRI: "NHS diagnostic 6-week standard (MRI requested → performed)",
    K.REBOOK_MRI: "NHS diagnostic 6-week standard (MRI requested → performed)",
    K.PERFORM_MRI: "NHS diagnostic 6-week standard (MRI requested → performed)",
    K.REPORT_MRI: "NHSE reporting turnaround 2023 (routine hard stop 28 days)",
    K.CRITICAL_RESULT_ACK: "ACR practice parameter / RCR critical results guidance",
    K.ACKNOWLEDGE_OUTCOME: "closed-loop referral: 5 working days, then remind; auto_close at 14 days",
    K.ANSWER_QUERY: "design: the referrer answers in 1 / 2 / 5 working days (asap / urgent / routine)",
    CaseClock.REFERRAL_TO_CONCLUSION: "NHS referral-to-treatment, 18 weeks",
}
# The case clock warns at 14 and 16 weeks: an MRI alone may take 6 weeks, so a warning two days
# before the breach would come too late to change anything.
CASE_CLOCK_REMINDER_HOURS = (4 * 168, 2 * 168)
# Weekly after the breach: an overdue step of the case usually escalates daily too, and a breached 18-week
# pathway is not put right in a day; a daily case-level message on top would teach people to skip it.
CASE_CLOCK_ESCALATE_EVERY_HOURS = 168


def default_reminders(clock: Clock) -> tuple[int, ...]:
    """Remind about a quarter of the way before a short deadline, a day before a longer one and
    also a week before one of several weeks."""
    hours = clock.amount * (1 if clock.unit == H else 24)
    if hours <= 12:
        return (1,)
    if hours <= 72:
        return (4,)
    if hours <= 14 * 24:
        return (24,)
    return (168, 24)


def default_escalation_hours(kind: str, clock: Clock) -> int:
    if kind == CaseClock.REFERRAL_TO_CONCLUSION:
        return CASE_CLOCK_ESCALATE_EVERY_HOURS
    if kind == K.CRITICAL_RESULT_ACK:
        return 1  # ACR/RCR: a critical result escalates until someone acts on it
    return 4 if clock.unit == H and clock.amount <= 48 else 24


def default_policy(kind: str, priority: str) -> Policy | None:
    clocks = DEFAULTS.get(kind)
    if not clocks:
        return None
    clock = clocks.get(priority) or clocks[ROUTINE]
    # A critical result escalates to the whole neurology team: anyone of them may acknowledge it.
    escalate_to = Role.NEUROLOGIST if kind == K.CRITICAL_RESULT_ACK else Role.ADMIN
    return Policy(
        kind=kind,
        priority=priority,
        clock=clock,
        reminder_hours=CASE_CLOCK_REMINDER_HOURS if kind in CaseClock.values else default_reminders(clock),
        escalate_every_hours=default_escalation_hours(kind, clock),
        escalate_to=escalate_to,
        source=SOURCES.get(kind, OUR_CHOICE),
    )


def seed_rows() -> list[dict]:
    """The rows migrations 0004 and 0007 wrote (kept here so tests can check the seed matches the code)."""
    rows = []
    for kind in DEFAULTS:
        for priority in (ASAP, URGENT, ROUTINE):
            p = default_policy(kind, priority)
            rows.append(
                {
                    "kind": str(kind),
                    "priority": priority,
                    "amount": p.clock.amount,
                    "unit": p.clock.unit,
                    "reminder_hours_before": ",".join(map(str, p.reminder_hours)),
                    "escalate_every_hours": p.escalate_every_hours,
                    "escalate_to": str(p.escalate_to),
                    "source": p.source,
                }
            )
    return rows


# --- the per-process cache -----------------------------------------------------------------------
_cache: dict = {"at": 0.0, "policies": None, "holidays": None}


def clear_cache(**kwargs) -> None:
    _cache.update(at=0.0, policies=None, holidays=None)


def _load() -> None:
    from carepath.models import Holiday, SLAPolicy

    policies = {}
    for row in SLAPolicy.objects.all():
        policies[(row.kind, row.priority)] = Policy(
            kind=row.kind,
            priority=row.priority,
            clock=Clock(row.amount, row.unit),
            reminder_hours=tuple(row.reminder_hours),
            escalate_every_hours=max(1, row.escalate_every_hours),
            escalate_to=row.escalate_to,
            source=row.source,
        )
    days = frozenset(Holiday.objects.values_list("date", flat=True))
    _cache.update(at=time.monotonic(), policies=policies, holidays=days)


def _fresh() -> dict:
    if _cache["policies"] is None or time.monotonic() - _cache["at"] > CACHE_SECONDS:
        _load()
    return _cache


def policy_for(kind: str, priority: str) -> Policy | None:
    priority = priority or ROUTINE
    return _fresh()["policies"].get((kind, priority)) or default_policy(kind, priority)


def holidays() -> frozenset[date]:
    return _fresh()["holidays"]


# --- clock arithmetic ----------------------------------------------------------------------------
def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays()


def add_working_days(start: datetime, days: int) -> datetime:
    """Monday–Friday without holidays, counted in the service's time zone; a start on a day off
    counts from the next working day. The time of day is kept (wall clock)."""
    current = timezone.localtime(start, ZoneInfo(settings.TIME_ZONE))
    while not is_working_day(current.date()):
        current += timedelta(days=1)
    added = 0
    while added < days:
        current += timedelta(days=1)
        if is_working_day(current.date()):
            added += 1
    return current.astimezone(ZoneInfo("UTC"))


def add_clock(start: datetime, clock: Clock) -> datetime:
    if clock.unit == H:
        return start + timedelta(hours=clock.amount)
    if clock.unit == D:
        return start + timedelta(days=clock.amount)
    return add_working_days(start, clock.amount)


def due_for(kind: str, priority: str, start: datetime) -> datetime | None:
    policy = policy_for(kind, priority)
    return add_clock(start, policy.clock) if policy else None


def _connect_cache_invalidation() -> None:
    from carepath.models import Holiday, SLAPolicy

    for model in (SLAPolicy, Holiday):
        post_save.connect(clear_cache, sender=model, dispatch_uid=f"sla_cache_{model.__name__}_save")
        post_delete.connect(clear_cache, sender=model, dispatch_uid=f"sla_cache_{model.__name__}_delete")


_connect_cache_invalidation()
