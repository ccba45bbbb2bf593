"""How many queries a fired batch costs (the sweep's cost must not grow with the batch)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from carepath import timers


def queries_to_fire(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        timers.fire_batch(ids)
    return len(queries)
