"""Opening and closing work items; called only from transition services, inside their transaction.

An item's timers (reminders, escalation, alert, auto-close: carepath/timers/scheduling.py) are written when it
opens and cancelled when it closes, in the same transaction.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from carepath.db import bulk
from carepath.db.writes import CompiledUpdate
from carepath.models import AuditLog, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import audit, ownership, sla
from carepath.pathway.errors import Forbidden, StepTaken, TransitionNotAllowed
from carepath.pathway.roles import Role, is_admin, user_roles
from carepath.timers import scheduling as timers


def open_item(
    *,
    referral_id: int,
    machine: str,
    kind: str,
    queue: str,
    priority: str,
    mri_request_id: int | None = None,
    is_primary: bool = True,
    assigned_to=None,
    anchor: datetime | None = None,
    note: str = "",
    out_of_my_work_until: datetime | None = None,
) -> WorkItem:
    """`out_of_my_work_until`: a step planned far ahead (a follow-up visit) stays off the worklists
    until then, as a snoozed one does; its clock is its own (`anchor`)."""
    now = timezone.now()
    item = WorkItem(
        referral_id=referral_id,
        mri_request_id=mri_request_id,
        machine=machine,
        kind=kind,
        is_primary=is_primary,
        queue=queue,
        assigned_to=assigned_to,
        priority=priority,
        due_at=sla.due_for(kind, priority, anchor or now),
        created_at=now,
        note=note,
        snoozed_until=out_of_my_work_until if out_of_my_work_until and out_of_my_work_until > now else None,
    )
    bulk.insert_one(item)
    timers.schedule_for_item(item, anchor=anchor or now)
    return item


def open_was_not_brought_review(
    *, referral_id: int, machine: str, priority: str, note: str, mri_request_id: int | None = None, assigned_to=None
) -> WorkItem:
    """A child is never discharged for a missed clinic visit or scan: a neurologist reviews every
    one, a side step beside the case's own."""
    return open_item(
        referral_id=referral_id,
        mri_request_id=mri_request_id,
        machine=machine,
        kind=WorkItemKind.WAS_NOT_BROUGHT_REVIEW,
        queue=Role.NEUROLOGIST,
        priority=priority,
        is_primary=False,
        assigned_to=assigned_to,
        note=note,
    )


def _open_primary(referral_id: int, machine: str):
    return WorkItem.objects.filter(
        referral_id=referral_id, machine=machine, is_primary=True, status=WorkItemStatus.OPEN
    )


# Every transition that changes state runs these two (compiled: carepath/db/writes.py).
_CANCEL_PRIMARY_TIMERS = CompiledUpdate(
    lambda referral_id, machine, now: timers.cancelling(_open_primary(referral_id, machine), now)
)
_CLOSE_PRIMARY = CompiledUpdate(
    lambda referral_id, machine, now, status, actor: (
        _open_primary(referral_id, machine),
        {"status": status, "closed_at": now, "closed_by": actor},
    )
)


def close_primary(*, referral_id: int, machine: str, actor, status: str = WorkItemStatus.DONE) -> None:
    """Close the case's open primary item of this machine, if any (sent `later`). Its timers are
    cancelled first: the timer sweep locks timers before work items too."""
    now, machine, status = timezone.now(), str(machine), str(status)
    _CANCEL_PRIMARY_TIMERS.later(referral_id=referral_id, machine=machine, now=now)
    _CLOSE_PRIMARY.later(referral_id=referral_id, machine=machine, now=now, status=status, actor=actor)


def close_items(
    *, referral_id: int, actor, kinds=None, status: str = WorkItemStatus.DONE, mri_request_id=None, ids=None
) -> int:
    items = WorkItem.objects.filter(referral_id=referral_id, status=WorkItemStatus.OPEN)
    if ids is not None:
        items = items.filter(pk__in=ids)
    if kinds is not None:
        items = items.filter(kind__in=kinds)
    if mri_request_id is not None:
        items = items.filter(mri_request_id=mri_request_id)
    timers.cancel_for_items(items)
    return items.update(status=status, closed_at=timezone.now(), closed_by=actor)


def switch_primary(
    *,
    referral_id: int,
    machine: str,
    actor,
    old_state: str,
    new_state: str,
    steps: dict,
    priority: str,
    mri_request_id: int | None = None,
    anchor: datetime | None = None,
    assigned_to=None,
    closed_status: str = WorkItemStatus.DONE,
) -> WorkItem | None:
    """Leaving a state closes its step's item; entering one opens the next (docs/design.md §3).
    `steps` maps state → (work item kind, queue role). A self-loop keeps the open item."""
    if old_state == new_state:
        return None
    close_primary(referral_id=referral_id, machine=machine, actor=actor, status=closed_status)
    step = steps.get(new_state)
    if step is None:
        return None
    kind, queue = step
    return open_item(
        referral_id=referral_id,
        machine=machine,
        kind=kind,
        queue=queue,
        priority=priority,
        mri_request_id=mri_request_id,
        anchor=anchor,
        assigned_to=assigned_to,
    )


def _lock_open_item(work_item_id: int) -> WorkItem:
    item = WorkItem.objects.select_for_update().get(pk=work_item_id)
    if item.status != WorkItemStatus.OPEN:
        raise TransitionNotAllowed("This work item is already finished.")
    return item


def work_item_claim(*, work_item_id: int, actor, take_over: bool = False) -> WorkItem:
    """Take an item from the queue; never changes the case's state (docs/design.md §3). An item someone
    else holds is taken only with `take_over`, recorded on the timeline (carepath/pathway/ownership.py)."""
    with transaction.atomic():
        item = _lock_open_item(work_item_id)
        roles = user_roles(actor)
        if item.queue not in roles and Role.ADMIN not in roles:
            raise Forbidden("This item is in another role's queue.")
        if item.assigned_to_id not in (None, actor.pk):
            if not take_over:
                raise StepTaken(holder_name=ownership.display_name(item.assigned_to), step=item.get_kind_display())
            ownership.write_take_over(
                ownership.step_of(item),
                actor=actor,
                machine=item.machine,
                referral_id=item.referral_id,
                mri_request_id=item.mri_request_id,
                action="claim",
            )
            item.assigned_to = actor
            return item
        item.assigned_to = actor
        item.save(update_fields=["assigned_to"])
        audit.record(actor, AuditLog.Action.UPDATE, item, {"claimed_by": actor.get_username()})
    return item


def work_item_release(*, work_item_id: int, actor) -> WorkItem:
    """Put a claimed item back in its queue (by whoever holds it, or an admin)."""
    with transaction.atomic():
        item = _lock_open_item(work_item_id)
        if item.assigned_to_id != actor.pk and not is_admin(actor):
            raise Forbidden("Only the person who claimed this item, or an admin, may release it.")
        item.assigned_to = None
        item.save(update_fields=["assigned_to"])
        audit.record(actor, AuditLog.Action.UPDATE, item, {"released_by": actor.get_username()})
    return item
