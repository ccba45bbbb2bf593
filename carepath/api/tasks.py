"""The API's housekeeping task: thin, named, idempotent (docs/timers.md)."""

from celery import shared_task
from django.db import DatabaseError

from .idempotency import purge_expired


@shared_task(
    name="carepath.purge_idempotency_keys",
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
)
def purge_idempotency_keys() -> int:
    """Beat runs this hourly; deleting what is already gone deletes nothing, so twice is harmless."""
    return purge_expired()
