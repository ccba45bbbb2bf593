"""Timers: rows with a due time, written in the transaction that makes them due (docs/design.md §4).

Life of a timer: `pending` → (the sweep claims it) `fired` → (its work is applied) `done`; or
`cancelled` when the case moves on first; or `dead` after `TIMER_MAX_ATTEMPTS` failed tries.

Scheduling (`schedule_for_item`, `cancel_for_items`, appointment timers in `carepath.notify.family`)
is called by `carepath.pathway.workitems` and the imaging services inside their transactions. The
sweep that claims and fires due timers is `carepath.timers.sweep`; this module imports nothing
above it (no notification, delivery or task), so scheduling never runs in a circle with firing.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from carepath.db import bulk
from carepath.models import Timer, TimerKind, TimerState, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import sla
from carepath.timers import queue

log = logging.getLogger(__name__)

# Opening one of these items tells its owner at once (a critical result: ACR/RCR; a missed scan;
# a family we cannot reach), before any reminder is due.
ALERT_KINDS = frozenset(
    {WorkItemKind.CRITICAL_RESULT_ACK, WorkItemKind.WAS_NOT_BROUGHT_REVIEW, WorkItemKind.GUARDIAN_CONTACT_MISSING}
)
TRANSITION_KINDS = frozenset(
    {TimerKind.FLAG_MISSED, TimerKind.AUTO_CLOSE, TimerKind.RELEASE_HOLD, TimerKind.FOLLOW_UP_MISSED}
)


# --- scheduling (inside the caller's transaction) -----------------------------------------------
def schedule_for_item(item: WorkItem, *, anchor: datetime | None = None) -> None:
    """A work item's reminders, its first escalation, an immediate alert for alerting kinds, and
    the outcome's auto-close. Keys are unique per item, so this is safe to call once per item."""
    rows = []
    policy = sla.policy_for(item.kind, item.priority)
    if item.due_at is not None and policy is not None:
        for hours in policy.reminder_hours:
            at = item.due_at - timedelta(hours=hours)
            if at > item.created_at:
                rows.append(_timer(item, TimerKind.REMINDER, at, f"remind:{hours}h", {"hours_before": hours}))
        rows.append(_timer(item, TimerKind.ESCALATION, item.due_at, "escalate:1", {"level": 1}))
    if item.kind in ALERT_KINDS:
        rows.append(_timer(item, TimerKind.ALERT, item.created_at, "alert", {}))
    if item.kind == WorkItemKind.ACKNOWLEDGE_OUTCOME:
        at = (anchor or item.created_at) + timedelta(days=settings.OUTCOME_AUTO_CLOSE_DAYS)
        rows.append(_timer(item, TimerKind.AUTO_CLOSE, at, "auto_close", {}))
    if not any(t.kind == TimerKind.ALERT for t in rows):
        bulk.insert_later(rows, key="key")  # one statement, on every transition that opens an item
        return
    ids = bulk.insert(rows, key="key")
    alerts = [ids[t.key] for t in rows if t.kind == TimerKind.ALERT and t.key in ids]
    if alerts:
        transaction.on_commit(lambda: _queue_now(alerts))


def _timer(item: WorkItem, kind: str, due_at: datetime, suffix: str, data: dict) -> Timer:
    return Timer(
        key=f"wi{item.pk}:{suffix}",
        kind=kind,
        due_at=due_at,
        referral_id=item.referral_id,
        work_item=item,
        data=data,
        created_at=item.created_at,
    )


def _queue_now(timer_ids: list[int]) -> None:
    """Alerts should not wait for the next beat; if this message is lost, tick still finds them."""
    queue.fire(timer_ids)


def cancel_for_items(items) -> int:
    """Cancel the pending timers of these work items (a queryset), before they are closed."""
    timers, values = cancelling(items, timezone.now())
    return timers.update(**values)


def cancelling(items, now: datetime) -> tuple:
    """The update that cancels the pending timers of these work items: (queryset, values), also
    compiled by `carepath.pathway.workitems` for the transitions' own step."""
    timers = Timer.objects.filter(work_item__in=items.values("pk"), state=TimerState.PENDING)
    return timers, {"state": TimerState.CANCELLED, "cancelled_at": now}


def cancel(timer_ids: Iterable[int] | None = None, *, appointment_id: int | None = None) -> int:
    timers = Timer.objects.filter(state=TimerState.PENDING)
    timers = timers.filter(appointment_id=appointment_id) if appointment_id else timers.filter(pk__in=timer_ids)
    return timers.update(state=TimerState.CANCELLED, cancelled_at=timezone.now())


def mark(timers: list[Timer], state: str, now: datetime, error: str = "") -> None:
    if not timers:
        return
    stamp = {"cancelled_at": now} if state == TimerState.CANCELLED else {"done_at": now}
    Timer.objects.filter(pk__in=[t.pk for t in timers], state=TimerState.FIRED).update(
        state=state, last_error=error, **stamp
    )


def open_items_only(timers: list[Timer]) -> tuple[list[Timer], list[Timer]]:
    """(timers whose work item is still open, timers to cancel)."""
    live, moot = [], []
    for t in timers:
        (live if t.work_item is not None and t.work_item.status == WorkItemStatus.OPEN else moot).append(t)
    return live, moot
