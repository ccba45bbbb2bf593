"""Batches for the sweep's cost tests: due reminders, and the queries a fired batch costs (which must
not grow with the batch)."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carepath.models import Timer, TimerKind, WorkItem
from carepath.timers import sweep


def queries_to_fire(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        sweep.fire_batch(ids)
    return len(queries)


def due_reminders_on(item, n: int, prefix: str) -> list[int]:
    """`n` reminders due a minute ago, on this open work item and `n - 1` open copies of it (one
    reminder per step: a step's due reminders go out as one message, effects.latest_reminders_only);
    their ids."""
    now = timezone.now()
    items = [item] + WorkItem.objects.bulk_create(
        [
            WorkItem(
                referral_id=item.referral_id,
                machine=item.machine,
                kind=item.kind,
                is_primary=False,
                queue=item.queue,
                priority=item.priority,
                due_at=item.due_at,
                created_at=item.created_at,
            )
            for _ in range(n - 1)
        ]
    )
    rows = [
        Timer(
            key=f"{prefix}:{item.referral_id}:{i}:{on.pk}",
            kind=TimerKind.REMINDER,
            due_at=now - timedelta(minutes=1),
            referral_id=item.referral_id,
            work_item=on,
            data={"hours_before": 24},
            created_at=now,
        )
        for i, on in enumerate(items)
    ]
    return [t.pk for t in Timer.objects.bulk_create(rows)]
