"""The sweep: claim due timers, fire them, re-queue lost work (docs/design.md §4, docs/timers.md).

- `tick(now)` claims due timers in batches with SELECT … FOR UPDATE SKIP LOCKED, marks them fired
  and hands each batch to `dispatch` (a Celery task in production, a plain call in `manage.py
  tick`). It also re-claims fired timers whose work was lost (worker killed, broker restarted) and
  re-queues unsent deliveries, so Celery may lose any message without losing work.
- `fire_batch(ids)` applies the work (`carepath.notify.effects`). It locks only *fired* timers, and
  transitions only cancel *pending* ones, so the two never wait on each other in a cycle.

Every effect is idempotent: notifications and deliveries have unique dedupe keys, new timers have
unique keys, system transitions re-check their guards. A timer whose case has moved on is
cancelled, not fired.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from carepath.models import Delivery, DeliveryState, Timer, TimerKind, TimerState
from carepath.notify import delivery, effects, notifications
from carepath.timers.queue import sync_sweep

log = logging.getLogger(__name__)

TRANSITION_KINDS = frozenset(
    {TimerKind.FLAG_MISSED, TimerKind.AUTO_CLOSE, TimerKind.RELEASE_HOLD, TimerKind.FOLLOW_UP_MISSED}
)


def _batch_size() -> int:
    return settings.CAREPATH_TICK_BATCH


# --- tick: claim what is due ----------------------------------------------------------------------
@dataclass
class TickResult:
    claimed: int = 0
    reclaimed: int = 0
    dead: int = 0
    deliveries_requeued: int = 0
    batches: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "claimed": self.claimed,
            "reclaimed": self.reclaimed,
            "dead": self.dead,
            "deliveries_requeued": self.deliveries_requeued,
            "batches": len(self.batches),
        }


def _claim(queryset, *, now: datetime, limit: int) -> tuple[list[int], list[int]]:
    """Lock up to `limit` rows nobody else holds, mark them fired; returns (fired ids, dead ids)."""
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True).values_list("pk", "attempts")[:limit])
        dead = [pk for pk, attempts in rows if attempts >= settings.CAREPATH_TIMER_MAX_ATTEMPTS]
        fired = [pk for pk, attempts in rows if attempts < settings.CAREPATH_TIMER_MAX_ATTEMPTS]
        if fired:
            Timer.objects.filter(pk__in=fired).update(state=TimerState.FIRED, fired_at=now, attempts=F("attempts") + 1)
        if dead:
            Timer.objects.filter(pk__in=dead).update(state=TimerState.DEAD, done_at=now)
            log.error("timers %s gave up after %s attempts (dead letters)", dead, settings.CAREPATH_TIMER_MAX_ATTEMPTS)
    return fired, dead


def due_timers(now: datetime):
    return Timer.objects.filter(state=TimerState.PENDING, due_at__lte=now).order_by("due_at")


def stuck_timers(now: datetime):
    lease = timedelta(seconds=settings.CAREPATH_TIMER_LEASE_SECONDS)
    return Timer.objects.filter(state=TimerState.FIRED, fired_at__lt=now - lease).order_by("fired_at")


def tick(
    now: datetime | None = None,
    *,
    dispatch: Callable[[list[int]], None],
    deliver: Callable[[list[int]], None],
    max_batches: int = 200,
) -> TickResult:
    """One sweep. `dispatch(ids)` runs or queues `fire_batch`; `deliver(ids)` sends deliveries."""
    now = now or timezone.now()
    result = TickResult()
    for queryset, counter in ((stuck_timers(now), "reclaimed"), (due_timers(now), "claimed")):
        while len(result.batches) < max_batches:
            fired, dead = _claim(queryset, now=now, limit=_batch_size())
            result.dead += len(dead)
            if not fired and not dead:
                break
            if fired:
                setattr(result, counter, getattr(result, counter) + len(fired))
                result.batches.append(fired)
                dispatch(fired)
    for ids in delivery.requeue_unsent(now, limit=_batch_size() * 10, batch=_batch_size()):
        result.deliveries_requeued += len(ids)
        deliver(ids)
    return result


# --- health ---------------------------------------------------------------------------------------
def status(now: datetime | None = None) -> dict:
    """How far behind the sweep is: a stuck beat shows up as a growing `oldest_due_seconds`."""
    now = now or timezone.now()
    return {
        "oldest_due_seconds": oldest_due_seconds(now),
        "due": due_timers(now).count(),
        "stuck": stuck_timers(now).count(),
        "dead_timers": Timer.objects.filter(state=TimerState.DEAD).count(),
        "dead_deliveries": Delivery.objects.filter(state=DeliveryState.DEAD).count(),
    }


def oldest_due_seconds(now: datetime | None = None) -> int:
    """Age of the oldest due-but-unfired timer; 0 when the sweep is keeping up (uses timer_pending_due)."""
    now = now or timezone.now()
    oldest = due_timers(now).aggregate(at=Min("due_at"))["at"]
    return int((now - oldest).total_seconds()) if oldest else 0


# --- fire: apply the work ---------------------------------------------------------------------------
def fire_batch(timer_ids: list[int], now: datetime | None = None) -> delivery.Claim:
    """Apply the work of fired timers; returns their deliveries, written already claimed by this
    process: send them once this has committed (`delivery.send_claimed`)."""
    now = now or timezone.now()
    claim = delivery.new_claim()
    # An alert is queued straight from its transaction, before any tick has claimed it.
    _claim(due_timers(now).filter(pk__in=timer_ids), now=now, limit=len(timer_ids))
    kinds = dict(Timer.objects.filter(pk__in=timer_ids).values_list("pk", "kind"))
    simple = [pk for pk in timer_ids if kinds.get(pk) not in TRANSITION_KINDS]
    transitions = [pk for pk in timer_ids if kinds.get(pk) in TRANSITION_KINDS]
    if simple:
        try:
            claim.rows += _fire(simple, now, effects.apply, claim)
        except Exception:  # one bad timer must not hold the batch back: retry one by one, recording the culprit
            log.exception("timer batch failed; retrying %s timers one by one", len(simple))
            for pk in simple:
                claim.rows += _fire_one(pk, now, effects.apply, claim)
    for pk in transitions:
        claim.rows += _fire_one(pk, now, effects.apply_transition, claim)
    return claim


def _fire(ids: list[int], now: datetime, apply, claim: delivery.Claim) -> list[Delivery]:
    """One transaction: the timers' work and their deliveries (only a committed one adds to the claim)."""
    with transaction.atomic():
        return notifications.add_claimed(apply(_lock_fired(ids), now=now), claim)


def _lock_fired(ids: list[int]) -> list[Timer]:
    """Skip-locked: if a redelivered message races the original, only one of them does the work.
    Loads what firing reads in one query; of the case only its patient (the messages name the child)."""
    return list(
        Timer.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=ids, state=TimerState.FIRED)
        .select_related("work_item__assigned_to", "appointment__guardian", "referral__patient")
        .defer(*_case_fields_not_read())
    )


@cache
def _case_fields_not_read() -> tuple[str, ...]:
    case = Timer._meta.get_field("referral").related_model
    return tuple(f"referral__{f.name}" for f in case._meta.concrete_fields if not f.primary_key and f.name != "patient")


def _fire_one(pk: int, now: datetime, apply, claim: delivery.Claim) -> list[Delivery]:
    try:
        return _fire([pk], now, apply, claim)
    except Exception as exc:  # recorded on the row; tick retries it after the lease, then dead-letters it
        log.exception("timer %s failed", pk)
        Timer.objects.filter(pk=pk, state=TimerState.FIRED).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        return []


# --- synchronous sweep (manage.py tick, tests, demos) -------------------------------------------------
def run_sync(now: datetime | None = None, *, rounds: int = 5) -> dict:
    """Claim, fire and deliver in this process; repeat while firing made more work due (alerts)."""
    with sync_sweep():
        return _run_rounds(now, rounds)


def _run_rounds(now: datetime | None, rounds: int) -> dict:
    totals = {"claimed": 0, "reclaimed": 0, "dead": 0, "deliveries": {"sent": 0, "failed": 0, "dead": 0, "skipped": 0}}
    for _ in range(rounds):
        fired, requeued = [], []
        result = tick(now or timezone.now(), dispatch=fired.append, deliver=requeued.append)
        outcomes = [delivery.send_claimed([fire_batch(ids, now)]) for ids in fired]
        outcomes += [delivery.deliver(ids) for ids in requeued]
        for counts in outcomes:
            for outcome, n in counts.items():
                totals["deliveries"][outcome] += n
        for name in ("claimed", "reclaimed", "dead"):
            totals[name] += getattr(result, name)
        if not result.batches:
            break
    return totals
