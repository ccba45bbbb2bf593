"""Thin Celery wrappers around referral services (docs/architecture.md: a task loads ids, calls one service)."""

import logging

from celery import shared_task

from carepath.pathway.errors import DomainError
from carepath.pathway.roles import get_system_user

from . import services

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
        services.referral_imaging_complete(referral_id=referral_id, actor=get_system_user())
    except DomainError as exc:
        log.info("imaging_complete for referral %s not applied: %s", referral_id, exc.detail)


def auto_close(timer, actor, now) -> None:
    """Timer handler (registered in apps.py): the outcome's acknowledgement window has passed."""
    services.referral_auto_close(referral_id=timer.referral_id, actor=actor, now=now)
