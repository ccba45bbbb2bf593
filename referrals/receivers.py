"""How the referral reacts to what imaging announces (imports run one way: docs/design.md §2)."""

from django.dispatch import receiver

from carepath.pathway import workflow
from carepath.pathway.roles import get_system_user
from imaging import signals

from . import tasks
from .machine import REFERRAL_MACHINE


@receiver(signals.mri_request_cancelled, dispatch_uid="referral_imaging_cancelled")
def on_mri_request_cancelled(sender, *, mri_request, actor, reason, **kwargs):
    # Same transaction as the cancellation: both commit, or neither does.
    system, context = get_system_user(), {"reason": reason}
    workflow.perform(REFERRAL_MACHINE, mri_request.referral_id, "imaging_cancelled", system, context=context)


@receiver(signals.report_signed, dispatch_uid="referral_imaging_complete")
def on_report_signed(sender, *, referral_id, **kwargs):
    # Sent after commit; the transition runs in a task so a slow or failed step never undoes the report.
    tasks.imaging_complete.delay(referral_id)
