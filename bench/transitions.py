"""Scenario 3: transitions per second, uncontended (1 client, then client processes) and contended
(docs/benchmarks.md). Django must be set up first (bench.scenarios does it)."""

import random
import threading
import time

from django.contrib.auth import get_user_model
from django.db import connections

from bench.measure import log, run_threads
from carepath.pathway.errors import StaleVersion, TransitionNotAllowed
from referrals import services
from referrals.models import Referral


def transitions(neurologists, n: int, clients: int = 8) -> dict:
    """Triage on distinct cases: one client (each commit waits for its own WAL flush), then `clients`
    client processes at once (PostgreSQL groups their flushes); then the contended case."""
    submitted = list(
        Referral.objects.filter(state="submitted").order_by("id").values_list("id", flat=True)[: 2 * n + 50]
    )
    # the contended 50 first: at 10,000 referrals there are ~1,000 submitted cases, fewer than 2n + 50
    contended, rest = submitted[:50], submitted[50:]
    n = min(n, len(rest) // 2)
    alone, parallel = rest[:n], rest[n : 2 * n]
    started = time.perf_counter()
    for pk in alone:
        services.referral_triage(referral_id=pk, actor=neurologists[0], priority="routine")
    one = len(alone) / (time.perf_counter() - started)
    many = _parallel_triage(neurologists, parallel, clients)
    log(f"  uncontended: {one:.0f}/s with 1 client, {many:.0f}/s with {clients}")
    return {
        "uncontended": len(alone),
        "uncontended_per_s": round(one, 1),
        "uncontended_parallel_per_s": round(many, 1),
        "parallel_clients": clients,
        "contended": _contended(neurologists, contended, clients=8),
    }


def _parallel_triage(neurologists, cases: list[int], clients: int) -> float:
    """`clients` processes (one connection each, no shared GIL), each on its own distinct cases; the
    rate is all cases over the span from the first client's start to the last client's finish."""
    import multiprocessing

    chunks = [cases[i::clients] for i in range(clients)]
    actors = [neurologists[i % len(neurologists)].pk for i in range(clients)]
    connections.close_all()  # each forked client opens its own connection
    context = multiprocessing.get_context("fork")
    barrier, spans = context.Barrier(clients), context.Queue()
    workers = [
        context.Process(target=_triage_client, args=(chunks[i], actors[i], barrier, spans)) for i in range(clients)
    ]
    for w in workers:
        w.start()
    results = [spans.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    done = sum(count for count, _, _ in results)
    if done != len(cases):
        raise RuntimeError(f"parallel triage: {done} of {len(cases)} cases moved")
    return done / (max(end for _, _, end in results) - min(start for _, start, _ in results))


def _triage_client(pks: list[int], actor_id: int, barrier, spans) -> None:
    actor = get_user_model().objects.get(pk=actor_id)
    barrier.wait()
    started, done = time.perf_counter(), 0
    for pk in pks:
        services.referral_triage(referral_id=pk, actor=actor, priority="routine")
        done += 1
    spans.put((done, started, time.perf_counter()))
    connections.close_all()


def _contended(neurologists, cases: list[int], clients: int) -> dict:
    counts = {"winners": 0, "conflicts": 0, "other_errors": 0}
    lock = threading.Lock()

    def client(index: int):
        order = cases[:]
        random.Random(index).shuffle(order)
        for pk in order:
            try:
                services.referral_triage(
                    referral_id=pk,
                    actor=neurologists[index % len(neurologists)],
                    priority="routine",
                    expected_version=1,
                )
                key = "winners"
            except (StaleVersion, TransitionNotAllowed):  # the 409s: someone else won this case
                key = "conflicts"
            except Exception as exc:  # noqa: BLE001 - counted and reported: the benchmark must not hide errors
                log(f"  unexpected {type(exc).__name__}: {exc}")
                key = "other_errors"
            with lock:
                counts[key] += 1
        connections.close_all()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    elapsed = run_threads(threads)
    rows = Referral.objects.filter(pk__in=cases)
    lost = sum(1 for r in rows if r.version != 2 or r.events.filter(transition="triage").count() != 1)
    result = {
        "clients": clients,
        "cases": len(cases),
        **counts,
        "lost_updates": lost,
        "per_s": round(clients * len(cases) / elapsed, 1),
    }
    log(f"  contended: {result}")
    return result
