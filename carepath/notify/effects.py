"""What a fired timer does (docs/design.md §4), applied in batches inside `timers.fire_batch`.

- reminder / escalation / alert: in-app notifications (and their e-mail deliveries) to the work
  item's owner or queue; from the second escalation on also to the policy's `escalate_to` role;
  a timeline event per timer; an escalation schedules the next one `escalate_every_hours` later
  (from *now*, so a late sweep sends one escalation per interval, never a flood).
- after downtime, one reminder per work item (or case clock) and kind: of the reminders already due,
  only the latest goes out; the earlier ones are cancelled as superseded (`latest_reminders_only`).
- clock_reminder / clock_escalation: the same, about the case's 18-week clock instead of a work item
  (`carepath.pathway.case_clock`): to the neurologist holding the case's neurology item, else the queue.
- family_reminder: `carepath.notify.family`.
- flag_missed / auto_close: the app's own service with the system actor, registered by the app
  (`register_transition` from its AppConfig.ready(); carepath never imports the apps).
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import F, Q

from carepath.db import bulk
from carepath.models import CaseEvent, Delivery, Notification, Timer, TimerKind, TimerState
from carepath.notify import family, notifications
from carepath.pathway import case_clock, sla
from carepath.pathway.errors import DomainError
from carepath.pathway.roles import get_system_user
from carepath.timers.scheduling import mark, open_items_only

STAFF_KINDS = (TimerKind.REMINDER, TimerKind.ESCALATION, TimerKind.ALERT)
EVENT_KIND = {
    TimerKind.REMINDER: CaseEvent.Kind.REMINDER,
    TimerKind.ESCALATION: CaseEvent.Kind.ESCALATION,
    TimerKind.ALERT: CaseEvent.Kind.NOTE,
    TimerKind.CLOCK_REMINDER: CaseEvent.Kind.REMINDER,
    TimerKind.CLOCK_ESCALATION: CaseEvent.Kind.ESCALATION,
}
ESCALATIONS = (TimerKind.ESCALATION, TimerKind.CLOCK_ESCALATION)
REMINDERS = (TimerKind.REMINDER, TimerKind.CLOCK_REMINDER)

# timer kind → callable(timer, actor, now); filled by the apps' ready().
_TRANSITIONS: dict[str, Callable] = {}


def register_transition(kind: str, func: Callable) -> None:
    _TRANSITIONS[kind] = func


# --- transitions ----------------------------------------------------------------------------------
def apply_transition(timers: list[Timer], *, now: datetime) -> list[Delivery]:
    for timer in timers:
        try:
            _TRANSITIONS[timer.kind](timer, get_system_user(), now)
        except DomainError as exc:  # the case has moved on (or is not due after all): cancel, don't retry
            mark([timer], TimerState.CANCELLED, now, error=f"not applied: {exc.detail}")
        else:
            mark([timer], TimerState.DONE, now)
    return []


# --- notifications --------------------------------------------------------------------------------
def apply(timers: list[Timer], *, now: datetime) -> list[Delivery]:
    """Reminders, escalations, alerts and family reminders of one batch; returns their deliveries,
    unsaved (`timers.fire_batch` writes them claimed for the process that sends them)."""
    system = get_system_user()
    staff = [t for t in timers if t.kind in STAFF_KINDS]
    live, moot = open_items_only(staff)
    mark(moot, TimerState.CANCELLED, now, error="work item no longer open")
    live, superseded = latest_reminders_only(live, now=now)
    mark(superseded, TimerState.CANCELLED, now, error=SUPERSEDED)
    deliveries = _staff(live, now=now, system=system)
    mark(live, TimerState.DONE, now)
    deliveries += family.fire([t for t in timers if t.kind == TimerKind.FAMILY_REMINDER], now=now, system=system)
    deliveries += _case_clock([t for t in timers if t.kind in case_clock.CLOCK_KINDS], now=now, system=system)
    return deliveries


def _case_clock(timers: list[Timer], *, now: datetime, system) -> list[Delivery]:
    """The case clock's reminders and escalations, through the same steps as a work item's."""
    if not timers:
        return []
    live, moot = case_clock.running_only(timers, now=now)
    mark(moot, TimerState.CANCELLED, now, error="case clock stopped, or the reminder came after the breach")
    live, superseded = latest_reminders_only(live, now=now)
    mark(superseded, TimerState.CANCELLED, now, error=SUPERSEDED)
    deliveries = _staff(live, now=now, system=system)
    mark(live, TimerState.DONE, now)
    return deliveries


SUPERSEDED = "superseded: a later reminder of the same step was due too (one message per step and kind)"
# A reminder still counts as the one sent (or being sent) in these states; a cancelled or dead one does not.
_COUNTED = (TimerState.PENDING, TimerState.FIRED, TimerState.DONE)


def _target_key(kind: str, work_item_id: int | None, referral_id: int) -> tuple:
    """What "the same step" means: the work item, or for the case clock (no work item) the case."""
    return (kind, work_item_id) if kind == TimerKind.REMINDER else (kind, referral_id)


def latest_reminders_only(timers: list[Timer], *, now: datetime) -> tuple[list[Timer], list[Timer]]:
    """(timers to fire, reminders superseded by a later one of the same step and kind that is due too).

    After downtime a step's 168 h and 24 h reminders are both due; its holder gets one message, worded
    at send time (`notifications.time_left`), not one per missed reminder point. The rule reads only
    the database and each timer's own due time, so it gives the same answer however the due reminders
    are split between batches, sweeps running at once, or retries: of the reminders of a step and kind
    due by now and not cancelled, the latest (by due time, then id) is the one sent; every other is
    cancelled. One query per batch that holds reminders, none otherwise."""
    reminders = [t for t in timers if t.kind in REMINDERS]
    if not reminders:
        return timers, []
    items = {t.work_item_id for t in reminders if t.kind == TimerKind.REMINDER}
    cases = {t.referral_id for t in reminders if t.kind == TimerKind.CLOCK_REMINDER}
    due = Timer.objects.filter(kind__in=REMINDERS, due_at__lte=now, state__in=_COUNTED).filter(
        Q(kind=TimerKind.REMINDER, work_item_id__in=items)
        | Q(kind=TimerKind.CLOCK_REMINDER, work_item__isnull=True, referral_id__in=cases)
    )
    latest: dict[tuple, tuple] = {}
    for pk, kind, work_item_id, referral_id, due_at in due.values_list(
        "pk", "kind", "work_item_id", "referral_id", "due_at"
    ):
        key = _target_key(kind, work_item_id, referral_id)
        latest[key] = max(latest.get(key, (due_at, pk)), (due_at, pk))
    live, superseded = [], []
    for t in timers:
        key = _target_key(t.kind, t.work_item_id, t.referral_id)
        newest = latest.get(key)
        later = t.kind in REMINDERS and newest is not None and newest > (t.due_at, t.pk)
        (superseded if later else live).append(t)
    return live, superseded


def _level(timer: Timer) -> int:
    return int(timer.data.get("level", 1)) if timer.kind in ESCALATIONS else 0


def _roles_needed(timers: list[Timer]) -> set[str]:
    roles = set()
    for t in timers:
        item = case_clock.target(t)
        if item.assigned_to_id is None:
            roles.add(item.queue)
        if _level(t) >= 2:
            roles.add(sla.policy_for(item.kind, item.priority).escalate_to)
    return roles - {""}


def role_members(roles: set[str]) -> dict[str, list]:
    """Active users per role, one query for the whole batch."""
    members: dict[str, list] = defaultdict(list)
    if roles:
        users = get_user_model().objects.filter(is_active=True, groups__name__in=roles).annotate(role=F("groups__name"))
        for user in users:
            members[user.role].append(user)
    return members


def recipients(timer: Timer, members: dict[str, list]) -> list:
    item = case_clock.target(timer)
    owner = item.assigned_to if item.assigned_to_id and item.assigned_to.is_active else None
    users = [owner] if owner else list(members.get(item.queue, []))
    if _level(timer) >= 2:
        users += members.get(sla.policy_for(item.kind, item.priority).escalate_to, [])
    unique = {u.pk: u for u in users}
    return list(unique.values())


def _staff(timers: list[Timer], *, now: datetime, system) -> list[Delivery]:
    if not timers:
        return []
    members = role_members(_roles_needed(timers))
    rows, events, follow_ups = [], [], []
    for timer in timers:
        users = recipients(timer, members)
        subject, body = notifications.render_staff(timer, now=now)
        rows += [
            Notification(
                recipient=u,
                referral_id=timer.referral_id,
                work_item=timer.work_item,
                kind=timer.kind,
                subject=subject,
                body=body,
                link=notifications.case_link(timer.referral_id),
                dedupe_key=f"timer:{timer.pk}:user:{u.pk}",
                created_at=now,
            )
            for u in users
        ]
        events.append(_event(timer, now, system, [u.get_username() for u in users]))
        if timer.kind in ESCALATIONS:
            follow_ups.append(_next_escalation(timer, now))
    bulk.insert(events)
    bulk.insert(follow_ups, key="key")
    return notifications.create(rows, now=now)


def _event(timer: Timer, now: datetime, system, notified: list[str]) -> CaseEvent:
    item = case_clock.target(timer)
    data = {
        "work_item": item.pk,
        "step": notifications.step(item.kind),
        "due_at": item.due_at,
        "notified": notified,
        "timer": timer.pk,
    }
    if timer.kind in ESCALATIONS:
        data["level"] = _level(timer)
    if timer.kind in REMINDERS:
        data["hours_before"] = timer.data.get("hours_before")
    return CaseEvent(
        referral_id=timer.referral_id,
        mri_request_id=item.mri_request_id,
        machine=item.machine,
        kind=EVENT_KIND[timer.kind],
        transition=timer.kind,
        actor=system,
        at=now,
        data=data,
    )


def _next_escalation(timer: Timer, now: datetime) -> Timer:
    """The same timer one level up (its key with the level bumped: `wi7:escalate:2`), due one interval
    from now."""
    item = case_clock.target(timer)
    level = _level(timer) + 1
    every = sla.policy_for(item.kind, item.priority).escalate_every_hours
    return Timer(
        key=f"{timer.key.rpartition(':')[0]}:{level}",
        kind=timer.kind,
        due_at=now + timedelta(hours=every),
        referral_id=timer.referral_id,
        work_item_id=timer.work_item_id,
        data={**timer.data, "level": level},
        created_at=now,
    )
