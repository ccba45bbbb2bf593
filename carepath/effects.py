"""What a fired timer does (docs/design.md §4), applied in batches inside `timers.fire_batch`.

- reminder / escalation / alert: in-app notifications (and their e-mail deliveries) to the work
  item's owner or queue; from the second escalation on also to the policy's `escalate_to` role;
  a timeline event per timer; an escalation schedules the next one `escalate_every_hours` later
  (from *now*, so a late sweep sends one escalation per interval, never a flood).
- clock_reminder / clock_escalation: the same, about the case's 18-week clock instead of a work item
  (`carepath.case_clock`): to the neurologist holding the case's neurology item, else the queue.
- family_reminder: `carepath.family`.
- flag_missed / auto_close: the app's own service with the system actor, registered by the app
  (`register_transition` from its AppConfig.ready(); carepath never imports the apps).
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import F

from . import bulk, case_clock, family, notifications, sla
from .errors import DomainError
from .models import CaseEvent, Delivery, Notification, Timer, TimerKind, TimerState
from .roles import get_system_user
from .timers import mark, open_items_only

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
    deliveries = _staff(live, now=now, system=system)
    mark(live, TimerState.DONE, now)
    return deliveries


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
