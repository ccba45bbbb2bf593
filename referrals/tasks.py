"""Thin Celery wrappers around referral transitions (docs/architecture.md: a task loads ids and goes in
through `workflow.perform`, the same way as the API and the pages)."""

import logging

from celery import shared_task

from carepath.pathway import workflow
from carepath.pathway.errors import DomainError
from carepath.pathway.roles import get_system_user

from .machine import REFERRAL_MACHINE

log = logging.getLogger(__name__)


@shared_task(
    name="referrals.imaging_complete",
    acks_late=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def imaging_complete(referral_id: int) -> None:
    """Idempotent: once the referral has left `imaging`, a second run is refused and does nothing."""
    try:
        workflow.perform(REFERRAL_MACHINE, referral_id, "imaging_complete", get_system_user())
    except DomainError as exc:
        log.info("imaging_complete for referral %s not applied: %s", referral_id, exc.detail)


def auto_close(timer, actor, now) -> None:
    """Timer handler (registered in apps.py): the outcome's acknowledgement window has passed."""
    workflow.perform(REFERRAL_MACHINE, timer.referral_id, "auto_close", actor, context={"now": now})
