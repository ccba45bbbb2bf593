"""My work's parts around the list (docs/ui.md, "Reassign, delegate, snooze, reopen"): your
delegations, the colleagues you may delegate to, your snoozed steps, and which listed items a
colleague away delegated to you. Its forms post to carepath/web/handover.py."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from carepath.models import WorkItem, WorkItemStatus
from carepath.pathway import delegation


def my_work_context(user, items: list[WorkItem]) -> dict:
    """My work's extra parts: your delegations, colleagues you may delegate to, your snoozed steps,
    and which of the listed items a colleague away delegated to you."""
    role = delegation.delegating_role(user)
    colleagues = []
    if role is not None:
        people = get_user_model().objects.filter(is_active=True, groups__name=role).exclude(pk=user.pk)
        colleagues = list(people.order_by("last_name", "username").distinct())
    delegations = list(delegation.delegations_of(user))
    away = {d.delegator_id for d in delegations if d.delegate_id == user.pk and d.starts_at <= timezone.now()}
    snoozed = WorkItem.objects.filter(assigned_to=user, status=WorkItemStatus.OPEN, snoozed_until__gt=timezone.now())
    return {
        "delegations": delegations,
        "delegation_colleagues": colleagues,
        "may_delegate": role is not None,
        "delegated_ids": {i.pk for i in items if i.assigned_to_id in away},
        "snoozed": list(snoozed.select_related("referral").order_by("snoozed_until")),
        "today": timezone.localdate(),
    }
