"""Handing a step on and putting it aside (issue 18 item 3; docs/decisions.md, "Reassign, delegate,
snooze, reopen"): neither changes the case's state, so neither is a transition.

- **Reassign**: the holder, a colleague in the step's queue or an admin gives the step to a named
  colleague of the queue's role who may see the case, with a reason. History: a
  `WorkItemReassignment` row (from, to, by, why, when), a timeline event, an audit row; the new
  holder is told.
- **Snooze**: whoever holds the step (an unclaimed step is taken by whoever snoozes it, so it comes
  back to someone) puts it out of My work until a time. Its due time, reminders and escalation are
  untouched: the timers still fire on time (carepath/timers/sweep.py reads no snooze), so snoozing
  never hides a breach from the people it escalates to.

Refusals: 403 `Forbidden` for who may not, 409 `TransitionNotAllowed` for a finished step, 422
`Unprocessable` naming the field (a colleague of the wrong role, a time in the past).
"""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent, WorkItem, WorkItemReassignment, WorkItemStatus, case_reference
from carepath.notify.notifications import local, notify, step
from carepath.pathway import access, audit, registry
from carepath.pathway.errors import Forbidden, TransitionNotAllowed, Unprocessable
from carepath.pathway.ownership import display_name
from carepath.pathway.roles import Role, user_roles

SNOOZE_AT_MOST = timedelta(days=30)  # a step put aside for longer is a step that belongs to someone else


def _lock_open(work_item_id: int) -> WorkItem:
    # only the item row is locked: PostgreSQL refuses FOR UPDATE on the nullable side of the holder's join
    item = WorkItem.objects.select_for_update(of=("self",)).select_related("assigned_to").get(pk=work_item_id)
    if item.status != WorkItemStatus.OPEN:
        raise TransitionNotAllowed("This step is already finished.")
    return item


def may_hand_on(actor, item) -> bool:
    """The holder, a colleague in the step's queue, or an admin."""
    roles = user_roles(actor)
    return item.assigned_to_id == actor.pk or item.queue in roles or Role.ADMIN in roles


def may_snooze(actor, item) -> bool:
    """The holder, or (an unclaimed step) anyone in its queue, or an admin."""
    if item.assigned_to_id is not None:
        return item.assigned_to_id == actor.pk or Role.ADMIN in user_roles(actor)
    return item.queue in user_roles(actor) or Role.ADMIN in user_roles(actor)


def may_see_case(user, referral_id: int) -> bool:
    return registry.model("case").objects.filter(access.referral_q(user), pk=referral_id).exists()


def colleagues_for(item) -> list:
    """Who a step may be given to: active people of its queue's role who may see the case."""
    people = get_user_model().objects.filter(is_active=True, groups__name=item.queue).order_by("last_name", "username")
    return [u for u in people.distinct() if u.pk != item.assigned_to_id and may_see_case(u, item.referral_id)]


def _target(item, username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    role = Role(item.queue).label.lower()
    if user is None:
        raise Unprocessable({"to": "There is no active colleague with this username."})
    if item.queue not in user_roles(user):
        raise Unprocessable({"to": f"{display_name(user)} is not a {role}: this step is for the {role} queue."})
    if user.pk == item.assigned_to_id:
        raise Unprocessable({"to": f"{display_name(user)} already holds this step."})
    if not may_see_case(user, item.referral_id):
        raise Unprocessable({"to": f"{display_name(user)} may not see this case, so cannot take its step."})
    return user


def work_item_reassign(*, work_item_id: int, actor, to: str, reason: str) -> WorkItem:
    """Give the step to the colleague named `to` (a username), with a reason; a snooze ends with it."""
    with transaction.atomic():
        item = _lock_open(work_item_id)
        if not may_hand_on(actor, item):
            raise Forbidden(
                "Only whoever holds this step, a colleague in its queue or an admin may give it to someone."
            )
        target, before = _target(item, to), item.assigned_to
        now = timezone.now()
        item.assigned_to, item.snoozed_until = target, None
        item.save(update_fields=["assigned_to", "snoozed_until"])
        WorkItemReassignment.objects.create(
            work_item=item, from_user=before, to_user=target, by=actor, reason=reason, at=now
        )
        data = {
            "step": step(item.kind),
            "work_item": item.pk,
            "from": display_name(before) if before else "",
            "from_id": before.pk if before else None,
            "to": display_name(target),
            "to_id": target.pk,
            "reason": reason,
        }
        _event(item, CaseEvent.Kind.REASSIGNED, actor, now, data)
        audit.record(actor, AuditLog.Action.UPDATE, item, {"reassigned": data})
        _tell_new_holder(item, target, actor, reason)
    return item


def work_item_snooze(*, work_item_id: int, actor, until: datetime, reason: str = "") -> WorkItem:
    """Out of My work until `until`; the SLA clock and its escalation run on."""
    with transaction.atomic():
        item = _lock_open(work_item_id)
        if not may_snooze(actor, item):
            raise Forbidden("Only whoever holds this step (or an admin) may snooze it.")
        now = timezone.now()
        if until <= now:
            raise Unprocessable({"until": "Choose a time in the future."})
        if until > now + SNOOZE_AT_MOST:
            raise Unprocessable({"until": "A step can be snoozed for 30 days at most: give it to a colleague instead."})
        if item.assigned_to_id is None:  # so it comes back to someone, not to nobody
            item.assigned_to = actor
        item.snoozed_until = until
        item.save(update_fields=["assigned_to", "snoozed_until"])
        data = {
            "step": step(item.kind),
            "work_item": item.pk,
            "until": until.isoformat(),
            "until_local": f"{local(until):%a %-d %b %Y %H:%M}",
            "reason": reason,
        }
        _event(item, CaseEvent.Kind.SNOOZED, actor, now, data)
        audit.record(actor, AuditLog.Action.UPDATE, item, {"snoozed": data})
    return item


def _event(item, kind: str, actor, now, data: dict) -> None:
    CaseEvent.objects.create(
        referral_id=item.referral_id,
        mri_request_id=item.mri_request_id,
        machine=item.machine,
        kind=kind,
        actor=actor,
        at=now,
        data=data,
    )


def _tell_new_holder(item, target, actor, reason: str) -> None:
    """In the reassignment's transaction; the e-mail names no clinical text (docs/security.md)."""
    reference = case_reference(item.referral_id)
    notify(
        [target],
        kind="step_reassigned",
        referral_id=item.referral_id,
        work_item=item,
        subject=f"{display_name(actor)} gave you “{step(item.kind)}” on {reference}",
        body=reason,
        email_body="Sign in to see the step and why it was given to you.",
        dedupe_prefix=f"reassign:{item.pk}:{timezone.now().timestamp()}",
    )
