"""Celery tasks of the outbox: thin, named, idempotent (the database is the queue; a task carries
ids, and may run twice or not at all: `integrations.tick` re-queues what a lost message left)."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from carepath.notify import delivery as machinery
from carepath.timers.tasks import RETRY
from integrations.outbox import relay, sending
from integrations.outbox.models import OutboundDelivery

TICK_LIMIT = 1000


@shared_task(name="integrations.deliver", ignore_result=True, **RETRY)
def deliver(delivery_ids: list[int]) -> dict:
    counts, following = sending.deliver(delivery_ids)
    if following:
        deliver.delay(following)  # the next message of each lane whose head is done
    return counts


@shared_task(name="integrations.deliver_events", ignore_result=True, **RETRY)
def deliver_events(event_ids: list[int]) -> dict:
    ids = list(
        OutboundDelivery.objects.filter(event_id__in=event_ids, state__in=sending.UNSENT)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    return deliver(ids) if ids else {}


@shared_task(name="integrations.tick", ignore_result=True, soft_time_limit=50, time_limit=60, **RETRY)
def tick() -> dict:
    """Every minute (CELERY_BEAT_SCHEDULE): events the relay process left (it is down), FHIR heartbeats
    that are due, retries that are due and rows a lost message left behind."""
    relayed = relay.relay_all(most=TICK_LIMIT)
    heartbeats = _heartbeats()
    if heartbeats:
        deliver.delay(heartbeats)
    requeued = 0
    for ids in machinery.requeue_unsent(timezone.now(), limit=TICK_LIMIT, batch=100, model=OutboundDelivery):
        requeued += len(ids)
        deliver.delay(ids)
    return {"relayed": relayed, "requeued": requeued, "heartbeats": len(heartbeats)}


def _heartbeats() -> list[int]:
    from integrations.subscriptions import fanout  # the subscriptions sit beside the outbox, not under it

    with transaction.atomic():
        return fanout.heartbeats()


def send_events(event_ids: list[int]) -> None:
    deliver_events.delay(event_ids)


def send_again(ids: list[int]) -> None:
    """Queue rows an admin sent again, once the resend has committed."""
    transaction.on_commit(lambda: deliver.delay(ids))
