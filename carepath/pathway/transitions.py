"""The one place where a case's `state` changes (docs/architecture.md: "A transition, step by step").

Services lock the row, call `Machine.check`, write their own fields, then call `commit` here:
it moves the state, bumps `version`, appends the timeline event, the audit row and what other
systems are told (`registry.announce`), and closes the old step's work item and opens the next
(with their timers), all inside the caller's transaction.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from carepath.db import bulk, writes
from carepath.models import AuditLog, CaseEvent, WorkItemStatus
from carepath.pathway import audit, ownership, registry, workitems
from carepath.pathway.workflow import Transition


def jsonable(data: dict) -> dict:
    """Validated input as plain JSON (dates as ISO strings, model instances as ids)."""
    import json

    def default(value):
        if hasattr(value, "pk"):
            return value.pk
        return DjangoJSONEncoder().default(value)

    return json.loads(json.dumps(data, default=default))


def commit(
    obj,
    transition: Transition,
    *,
    actor,
    machine: str,
    referral_id: int,
    mri_request_id: int | None = None,
    data: dict | None = None,
    update_fields: tuple[str, ...] = (),
    steps: dict,
    priority: str,
    anchor=None,
    assigned_to=None,
    closed_status: str = WorkItemStatus.DONE,
) -> None:
    """`steps` maps each state to the work item that waits on it (kind, queue): leaving a state
    closes its item with `closed_status`, entering one opens the next (docs/design.md §3)."""
    # a take-over noted by the guard (carepath/pathway/ownership.py) goes first on the timeline
    taken = dict(machine=machine, referral_id=referral_id, mri_request_id=mri_request_id)
    ownership.record(obj, actor=actor, action=transition.name, **taken)
    now = timezone.now()
    source = obj.state
    obj.state = transition.target_for(source)
    obj.version += 1
    obj.updated_at = now
    writes.save_fields(obj, tuple(dict.fromkeys(("state", "version", "updated_at", *update_fields))))
    payload = jsonable(data or {})
    event = CaseEvent(
        referral_id=referral_id,
        mri_request_id=mri_request_id,
        machine=machine,
        transition=transition.name,
        from_state=source,
        to_state=obj.state,
        actor=actor,
        at=now,
        data=payload,
    )
    bulk.insert_later([event])  # one statement, a third of `create`'s CPU: every transition writes one
    registry.announce("transition", event=event)  # the outbox (integrations/events.py), same transaction
    audit.record(
        actor,
        AuditLog.Action.TRANSITION,
        obj,
        {"transition": transition.name, "from": source, "to": obj.state, "data": payload},
    )
    workitems.switch_primary(
        referral_id=referral_id,
        machine=machine,
        actor=actor,
        old_state=source,
        new_state=obj.state,
        steps=steps,
        priority=priority,
        mri_request_id=mri_request_id,
        anchor=anchor,
        assigned_to=assigned_to,
        closed_status=closed_status,
    )
