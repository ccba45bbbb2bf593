"""Service-level deadlines for work items (DESIGN.md §4).

`DEFAULTS` is the seed table: per work-item kind and priority, a duration and its unit
(hours, calendar days, working days), with the source of the number. `due_for` turns a start time
into a due time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import WorkItemKind as K

ASAP, URGENT, ROUTINE = "asap", "urgent", "routine"


@dataclass(frozen=True)
class Clock:
    amount: int
    unit: str  # "hours", "days" or "working_days"


def _same(clock: Clock) -> dict[str, Clock]:
    return {ASAP: clock, URGENT: clock, ROUTINE: clock}


H, D, WD = "hours", "days", "working_days"
# kind → priority → clock; comments give the source (DESIGN.md §4 table) or say it is our choice.
DEFAULTS: dict[str, dict[str, Clock]] = {
    K.TRIAGE: {ASAP: Clock(8, H), URGENT: Clock(2, WD), ROUTINE: Clock(5, WD)},  # design: same day / 2 / 5 wd
    K.FIRST_ASSESSMENT: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(28, D)},  # NICE NG12; VA 28 d
    K.PROTOCOL_MRI: {ASAP: Clock(4, H), URGENT: Clock(1, WD), ROUTINE: Clock(2, WD)},  # design
    # MRI requested → performed: NHS 6-week diagnostic standard
    K.SCHEDULE_MRI: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(42, D)},
    K.REBOOK_MRI: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(42, D)},
    K.PERFORM_MRI: {ASAP: Clock(48, H), URGENT: Clock(14, D), ROUTINE: Clock(42, D)},
    K.REPORT_MRI: {ASAP: Clock(12, H), URGENT: Clock(2, D), ROUTINE: Clock(7, D)},  # NHSE reporting 2023
    K.CRITICAL_RESULT_ACK: {ASAP: Clock(1, H), URGENT: Clock(1, H), ROUTINE: Clock(1, WD)},  # ACR/RCR
    K.ACKNOWLEDGE_OUTCOME: _same(Clock(5, WD)),  # closed-loop referral
    # Not in the design's table; our choice, editable by the admin:
    K.ANSWER_QUERY: _same(Clock(5, WD)),
    K.DECIDE_NEXT_STEP: {ASAP: Clock(1, D), URGENT: Clock(2, WD), ROUTINE: Clock(5, WD)},
    K.RESULTS_REVIEW: {ASAP: Clock(2, D), URGENT: Clock(7, D), ROUTINE: Clock(14, D)},
    K.NEUROSURGERY_CONSULT: {ASAP: Clock(2, D), URGENT: Clock(14, D), ROUTINE: Clock(28, D)},
    K.WAS_NOT_BROUGHT_REVIEW: _same(Clock(2, WD)),
    K.GUARDIAN_CONTACT_MISSING: _same(Clock(1, WD)),
}


def add_working_days(start: datetime, days: int) -> datetime:
    """Monday–Friday; a start on a weekend counts from the next Monday."""
    current = start
    while current.weekday() >= 5:
        current += timedelta(days=1)
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current


def add_clock(start: datetime, clock: Clock) -> datetime:
    if clock.unit == H:
        return start + timedelta(hours=clock.amount)
    if clock.unit == D:
        return start + timedelta(days=clock.amount)
    return add_working_days(start, clock.amount)


def due_for(kind: str, priority: str, start: datetime) -> datetime | None:
    clocks = DEFAULTS.get(kind)
    if not clocks:
        return None
    return add_clock(start, clocks.get(priority or ROUTINE, clocks[ROUTINE]))
