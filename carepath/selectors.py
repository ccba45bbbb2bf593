"""Worklists and notifications: read from work items and notification rows (DESIGN.md §3)."""

from django.db.models import F, Q, QuerySet

from . import access
from .models import Notification, WorkItem, WorkItemStatus
from .roles import user_roles


def worklist_for(user) -> QuerySet[WorkItem]:
    """Open items claimed by the user plus the unclaimed items of their role queues, on cases they
    may see; soonest due (so overdue) first."""
    mine = Q(assigned_to=user) | Q(assigned_to__isnull=True, queue__in=list(user_roles(user)))
    return (
        WorkItem.objects.filter(mine, status=WorkItemStatus.OPEN)
        .filter(access.referral_q(user, prefix="referral__"))
        .select_related("referral__patient", "mri_request", "assigned_to")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def notifications_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).select_related("referral__patient")
