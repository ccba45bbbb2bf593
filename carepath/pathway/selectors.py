"""Worklists and notifications: read from work items and notification rows (docs/design.md §3)."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Now

from carepath.models import Notification, WorkItem, WorkItemStatus, due_or_never
from carepath.pathway import access, delegation
from carepath.pathway.roles import Role, user_roles


def worklist_for(user) -> QuerySet[WorkItem]:
    """Open items claimed by the user, by a colleague who delegated to them now, and the unclaimed
    items of their role queues, on cases they may see; not snoozed (until their time comes: the
    database's clock); soonest due (so overdue) first (carepath/pathway/delegation.py,
    carepath/pathway/workitems_handover.py)."""
    mine = (
        Q(assigned_to=user)
        | Q(assigned_to__isnull=True, queue__in=list(user_roles(user)))
        | delegation.delegated_q(user)
    )
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=Now())
    return (
        WorkItem.objects.filter(mine, awake, status=WorkItemStatus.OPEN)
        .filter(access.referral_q(user, prefix="referral__"))
        .select_related("referral__patient", "mri_request", "assigned_to")
        .order_by(due_or_never(), "id")
    )


def claimable_by(user) -> QuerySet[WorkItem]:
    """Open items the user may claim or take over: their role queues' items (claimed by anyone), or
    theirs, or any for an admin; on cases they may see (carepath/pathway/ownership.py)."""
    roles = user_roles(user)
    mine = Q() if Role.ADMIN in roles else Q(assigned_to=user) | Q(queue__in=list(roles))
    return (
        WorkItem.objects.filter(mine, status=WorkItemStatus.OPEN)
        .filter(access.referral_q(user, prefix="referral__"))
        .select_related("referral__patient", "mri_request", "assigned_to")
    )


def notifications_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).select_related("referral__patient")


# --- overdue and escalated (docs/design.md §4; the API's `overdue` / `escalated` filters) --------------
def _open_items(link: str, now=None, *, overdue: bool = False, escalated: bool = False) -> Exists:
    """Exists(an open work item of the outer row) that is past due and/or has been escalated.
    `link` is the work item's field pointing at the outer row: "pk", "referral" or "mri_request"."""
    from django.utils import timezone

    from carepath.models import Timer, TimerKind, TimerState

    items = WorkItem.objects.filter(**{link: OuterRef("pk")}, status=WorkItemStatus.OPEN)
    if overdue:
        items = items.filter(due_at__lt=now or timezone.now())
    if escalated:
        fired = Timer.objects.filter(work_item=OuterRef("pk"), kind=TimerKind.ESCALATION, state=TimerState.DONE)
        items = items.filter(Exists(fired))
    return Exists(items)


def overdue(queryset: QuerySet, *, now=None, link: str = "referral") -> QuerySet:
    """Rows with an open work item past its due time: work items (`link="pk"`), referrals
    (`link="referral"`) or MRI requests (`link="mri_request"`)."""
    return queryset.filter(_open_items(link, now, overdue=True))


def escalated(queryset: QuerySet, *, link: str = "referral") -> QuerySet:
    """Rows with an open work item that has been escalated at least once (still not done)."""
    return queryset.filter(_open_items(link, escalated=True))
