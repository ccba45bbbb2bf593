"""Taking a step means something: acting on a step someone else has taken is a take-over, said
out loud, never done silently (issue 13 item 8; docs/decisions.md, "Work items").

`Machine.check` calls `guard` on every transition a person takes, on the locked row, so the web
pages, the API and any task agree. If the case's open step (the machine's primary work item) is
claimed by someone else whom the actor could stand in for (the actor works in the step's queue, or
is an admin), the action is refused with `StepTaken` unless the caller said it takes the step over
(`taking_over`). A take-over is then written by `record`, from `carepath.pathway.transitions.commit`: a
timeline event naming both people, an audit row, and the step now held by the actor.

The flag travels in a context variable set by the two entry points that carry a person's request
(`Machine.run` for the API, `webforms.run_action` for the pages) rather than as an argument of the
thirty transition services, none of which reads it but the guard. A service called any other way
(a task, a test, the shell) does not take over.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from django.utils import timezone

from carepath.pathway.errors import StepTaken
from carepath.pathway.roles import Role, user_roles

_TAKING_OVER: ContextVar[bool] = ContextVar("carepath_taking_over", default=False)
# Machine.name → WorkItem.machine, and how a machine's object finds its step
_STEP_OF = {"referral": ("referral", "referral_id"), "mri_request": ("mri", "mri_request_id")}
STASH = "_carepath_take_over"  # set on the locked object by `guard`, read by `record`


@dataclass(frozen=True)
class Step:
    """An open step and its holder, as `guard` reads it (what `stands_in_for` needs of a WorkItem)."""

    id: int
    kind: str
    queue: str
    assigned_to_id: int | None
    holder_name: str
    holder_username: str

    @property
    def label(self) -> str:
        from carepath.models import WorkItemKind

        return WorkItemKind(self.kind).label if self.kind in WorkItemKind.values else self.kind


@contextmanager
def taking_over(take_over: bool) -> Iterator[None]:
    """Within: the person acting has said they take over a step someone else holds."""
    token = _TAKING_OVER.set(bool(take_over))
    try:
        yield
    finally:
        _TAKING_OVER.reset(token)


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


@cache
def _holder_query(machine_name: str):
    """Compiled once per machine (carepath/db/compiled.py): every transition a person takes reads it,
    as a prepared statement on PostgreSQL like the rest of a transition's statements."""
    from carepath.db.compiled import CompiledValues
    from carepath.models import WorkItem, WorkItemStatus

    step_machine, key = _STEP_OF[machine_name]
    return CompiledValues(
        lambda pk: WorkItem.objects.filter(
            **{key: pk}, machine=step_machine, is_primary=True, status=WorkItemStatus.OPEN
        ).values(
            "id",
            "kind",
            "queue",
            "assigned_to_id",
            "assigned_to__first_name",
            "assigned_to__last_name",
            "assigned_to__username",
        )
    )


def holder(machine_name: str, obj) -> Step | None:
    """The open step of `obj`'s machine, with whoever holds it (None if it has no open step)."""
    found = _holder_query(machine_name).rows(None, pk=obj.pk)
    if not found:
        return None
    row = found[0]
    full = f"{row['assigned_to__first_name'] or ''} {row['assigned_to__last_name'] or ''}".strip()
    username = row["assigned_to__username"] or ""
    return Step(row["id"], row["kind"], row["queue"], row["assigned_to_id"], full or username, username)


def stands_in_for(actor, item) -> bool:
    """Whether the actor acts in place of the step's holder: someone else holds it, and the actor
    could have taken it (works in its queue, or is an admin). A referrer withdrawing their own
    referral, or neurology acting on a case whose step waits on the referrer, is not standing in."""
    if item is None or item.assigned_to_id in (None, actor.pk):
        return False
    roles = user_roles(actor)
    return item.queue in roles or Role.ADMIN in roles


def guard(machine_name: str, obj, transition, actor) -> None:
    """Raise StepTaken if `actor` would act on a step someone else holds without taking it over;
    when they take it over, note the holder on `obj` for `record`."""
    if transition.is_system:
        return
    item = holder(machine_name, obj)
    if not stands_in_for(actor, item):
        return
    if not _TAKING_OVER.get():
        raise StepTaken(holder_name=item.holder_name, step=item.label)
    setattr(obj, STASH, item)


def record(obj, *, actor, machine: str, referral_id: int, mri_request_id: int | None, action: str) -> None:
    """Write a take-over noted by `guard` (inside the transition's transaction): before the
    transition's own event, so the timeline reads "took over", then what was done."""
    item = getattr(obj, STASH, None)
    if item is None:
        return
    delattr(obj, STASH)
    write_take_over(
        item, actor=actor, machine=machine, referral_id=referral_id, mri_request_id=mri_request_id, action=action
    )


def write_take_over(
    step: Step, *, actor, machine: str, referral_id: int, mri_request_id: int | None, action: str
) -> None:
    from carepath.models import AuditLog, CaseEvent, WorkItem
    from carepath.pathway import audit

    names = {"from": step.holder_name, "to": display_name(actor)}
    CaseEvent.objects.create(
        referral_id=referral_id,
        mri_request_id=mri_request_id,
        machine=machine,
        kind=CaseEvent.Kind.TAKE_OVER,
        actor=actor,
        at=timezone.now(),
        data={**names, "from_id": step.assigned_to_id, "to_id": actor.pk, "step": step.label, "action": action},
    )
    WorkItem.objects.filter(pk=step.id).update(assigned_to=actor)
    audit.record(
        actor,
        AuditLog.Action.UPDATE,
        WorkItem(pk=step.id, referral_id=referral_id),
        {"taken_over_from": step.holder_username, "taken_over_by": actor.get_username(), "action": action},
    )


def step_of(item) -> Step:
    """A WorkItem read with its holder, as a Step (claims take over through `write_take_over` too)."""
    holder = item.assigned_to
    return Step(item.pk, item.kind, item.queue, item.assigned_to_id, display_name(holder), holder.get_username())
