"""Batches for the sweep's cost tests: due reminders, and the queries a fired batch costs (which must
not grow with the batch)."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carepath import timers
from carepath.models import Timer, TimerKind


def queries_to_fire(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        timers.fire_batch(ids)
    return len(queries)


def due_reminders_on(item, n: int, prefix: str) -> list[int]:
    """`n` reminders on this open work item, due a minute ago; their ids."""
    now = timezone.now()
    rows = [
        Timer(
            key=f"{prefix}:{item.referral_id}:{i}",
            kind=TimerKind.REMINDER,
            due_at=now - timedelta(minutes=1),
            referral_id=item.referral_id,
            work_item=item,
            data={"hours_before": 24},
            created_at=now,
        )
        for i in range(n)
    ]
    return [t.pk for t in Timer.objects.bulk_create(rows)]
