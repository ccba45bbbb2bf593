"""Thin Celery wrappers and timer handlers around imaging services (docs/architecture.md "Celery")."""

import logging

from celery import shared_task

from carepath.pathway import workflow
from carepath.timers.tasks import RETRY

from . import notices
from .machine import MRI_MACHINE

log = logging.getLogger(__name__)


def flag_missed(timer, actor, now) -> None:
    """Timer handler (registered in apps.py): the appointment's end plus grace has passed."""
    mri_request_id = timer.appointment.mri_request_id
    workflow.perform(MRI_MACHINE, mri_request_id, "flag_missed", actor, context={"now": now})


@shared_task(name="imaging.notify_report_amended", ignore_result=True, **RETRY)
def notify_report_amended(mri_request_id: int, addendum_id: int) -> int:
    """Idempotent: one notification per reader per addendum (dedupe key)."""
    return len(notices.report_amended(mri_request_id=mri_request_id, addendum_id=addendum_id))
