"""My work's parts around the list (docs/ui.md, "Reassign, delegate, snooze, reopen"): your
delegations, the form to delegate (to the colleagues you may delegate to), your snoozed steps, and which
listed items a colleague away delegated to you. Its forms post to carepath/web/handover.py."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from carepath.models import WorkItem, WorkItemStatus
from carepath.pathway import delegation
from carepath.web.formfields import django_form_items
from carepath.web.handover_forms import DelegationForm


def delegation_colleagues(user) -> list:
    """Who `user` may delegate to: active colleagues of their delegating role (nobody for other roles)."""
    role = delegation.delegating_role(user)
    if role is None:
        return []
    people = get_user_model().objects.filter(is_active=True, groups__name=role).exclude(pk=user.pk)
    return list(people.order_by("last_name", "username").distinct())


def my_work_context(user, items: list[WorkItem], delegation_form: DelegationForm | None = None) -> dict:
    """My work's extra parts: your delegations, the delegation form (as posted, after a refusal), your
    snoozed steps, and which of the listed items a colleague away delegated to you."""
    may_delegate = delegation.delegating_role(user) is not None
    if delegation_form is None and may_delegate:
        delegation_form = DelegationForm(colleagues=delegation_colleagues(user))
    delegations = list(delegation.delegations_of(user))
    away = {d.delegator_id for d in delegations if d.delegate_id == user.pk and d.starts_at <= timezone.now()}
    snoozed = WorkItem.objects.filter(assigned_to=user, status=WorkItemStatus.OPEN, snoozed_until__gt=timezone.now())
    return {
        "delegations": delegations,
        "delegation_form": delegation_form,
        "delegation_summary": django_form_items(delegation_form),
        "may_delegate": may_delegate,
        "delegated_ids": {i.pk for i in items if i.assigned_to_id in away},
        "snoozed": list(snoozed.select_related("referral").order_by("snoozed_until")),
    }
