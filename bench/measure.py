"""Measuring tools shared by the scenarios (bench/scenarios.py) and the web pages (bench/pages.py).

Django must be set up first (bench.scenarios, bench.plain_lists and bench.pages do it)."""

import sys
import threading
import time
from contextlib import contextmanager

from django.db import connection

from carepath.api.tokens import token_issue


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def count_queries():
    """Statements one request sends. The handler's request_started resets the query log, which
    would empty CaptureQueriesContext's slice, so it is disconnected while we count."""
    from django.core.signals import request_started
    from django.db import reset_queries
    from django.test.utils import CaptureQueriesContext

    request_started.disconnect(reset_queries)
    try:
        with CaptureQueriesContext(connection) as captured:
            count = [0]
            yield count
        count[0] = len(captured)
    finally:
        request_started.connect(reset_queries)


def bearer(user) -> str:
    return f"Bearer {token_issue(user=user, name='bench')[1]}"


def time_calls(*calls, n: int) -> list[float] | tuple[list[float], ...]:
    """Each call's timings, n of each. Several calls are timed in turn (a, b, a, b, …), so that a
    change in the machine's speed during the run (a shared VM's often is) weighs on each alike."""
    for _ in range(5):
        for call in calls:
            call()
    timings = tuple([] for _ in calls)
    for _ in range(n):
        for call, out in zip(calls, timings, strict=True):
            started = time.perf_counter()
            call()
            out.append(time.perf_counter() - started)
    return timings[0] if len(calls) == 1 else timings


def run_threads(threads: list[threading.Thread]) -> float:
    """Start the threads, wait for all of them: the seconds from the first start to the last finish."""
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started
