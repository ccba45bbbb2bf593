"""Queueing the timer and delivery tasks from below them (docs/architecture.md, "Imports run one way").

Scheduling (an alert is fired at once) and delivery (a message is sent once its transaction has
committed) sit under the Celery tasks that run the sweep, so they do not import the tasks: the tasks
module registers its senders here when it is loaded (`carepath.timers.tasks`, imported by
`CarepathConfig.ready()`). Inside `run_sync` (manage.py tick, tests, demos) the work is done in
process and nothing is queued.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_sync = ContextVar("carepath_timers_sync", default=False)
_senders: dict[str, Callable[[list[int]], object]] = {}


def register(*, fire: Callable[[list[int]], object], deliver: Callable[[list[int]], object]) -> None:
    _senders.update(fire=fire, deliver=deliver)


def in_sync_sweep() -> bool:
    """True inside `run_sync`: work is done in-process, so nothing is queued to Celery."""
    return _sync.get()


@contextmanager
def sync_sweep() -> Iterator[None]:
    token = _sync.set(True)
    try:
        yield
    finally:
        _sync.reset(token)


def fire(timer_ids: list[int]) -> None:
    """Queue `fire_timers` now (an alert; if the message is lost, tick still finds the timers)."""
    if timer_ids and not in_sync_sweep():
        _senders["fire"](timer_ids)


def deliver_on_commit(delivery_ids: list[int]) -> None:
    """Queue `deliver` once the caller's transaction has committed."""
    if delivery_ids and not in_sync_sweep():
        send = _senders["deliver"]
        transaction.on_commit(lambda: send(delivery_ids))
