"""Reopening a closed case (issue 18 item 3; docs/decisions.md, "Reassign, delegate, snooze, reopen"):
the `reopen` transition of referrals/machine.py, declared `reopens` (the engine lets nothing else
leave a terminal state). The case goes back to `assessed`, so its step "Request MRI or conclude"
opens in neurology's queue, linked (`follows`) to the case's last step; the reason is on the
timeline and on the new step. Kept beside referrals/services.py, whose commit it uses."""

from django.db.models import Q

from carepath.db import writes
from carepath.models import Machine, WorkItem, WorkItemStatus

from .machine import REFERRAL_MACHINE
from .services import _commit, _lock


@REFERRAL_MACHINE.service("reopen")
@writes.atomic
def referral_reopen(*, referral_id: int, actor, reason: str, expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "reopen", actor=actor, version=expected_version, data={"reason": reason})
    last = (
        WorkItem.objects.filter(referral_id=referral.pk, machine=Machine.REFERRAL, is_primary=True)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    referral.closed_at = None
    _commit(referral, "reopen", actor=actor, data={"reason": reason, "follows": last}, update_fields=["closed_at"])
    opened = Q(referral_id=referral.pk, machine=Machine.REFERRAL, is_primary=True, status=WorkItemStatus.OPEN)
    WorkItem.objects.filter(opened).update(follows_id=last, note=f"Reopened: {reason}"[:4000])
    return referral
