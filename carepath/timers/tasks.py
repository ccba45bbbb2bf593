"""Celery tasks for timers and deliveries: thin, named, idempotent (docs/architecture.md "Celery").

The database is the queue; these tasks only carry ids. Each can run twice, or not at all: `tick`
re-queues fired timers and unsent deliveries that a lost message left behind.
"""

from celery import shared_task
from django.db import DatabaseError, transaction

from carepath.notify import delivery
from carepath.timers import queue, sweep

# Transient infrastructure errors are retried by Celery with exponential back-off and jitter;
# business failures are recorded on the rows (timers/sweep.py, notify/delivery.py), never retried blindly.
RETRY = dict(
    autoretry_for=(DatabaseError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)


def _queue_fire(ids: list[int]) -> None:
    transaction.on_commit(lambda: fire_timers.delay(ids))


def _queue_deliver(ids: list[int]) -> None:
    transaction.on_commit(lambda: deliver.delay(ids))


@shared_task(name="carepath.tick", ignore_result=True, soft_time_limit=50, time_limit=60, **RETRY)
def tick() -> dict:
    """Beat runs this every minute; several at once are safe (SKIP LOCKED)."""
    return sweep.tick(dispatch=_queue_fire, deliver=_queue_deliver).as_dict()


@shared_task(name="carepath.fire_timers", ignore_result=True, **RETRY)
def fire_timers(timer_ids: list[int]) -> dict:
    # The batch's deliveries are written claimed by this process and sent here once the batch has
    # committed: no second task, no second write to claim them. If this worker dies, the claim
    # expires and tick re-queues them to `deliver`.
    return delivery.send_claimed([sweep.fire_batch(timer_ids)])


@shared_task(name="carepath.deliver", ignore_result=True, **RETRY)
def deliver(delivery_ids: list[int]) -> dict:
    return delivery.deliver(delivery_ids)


# Scheduling and delivery queue these through carepath.timers.queue: they sit below this module.
queue.register(fire=fire_timers.delay, deliver=deliver.delay)
