"""Benchmark scenario 2 (docs/design.md §9): the timer sweep.

- throughput: N due reminder timers (default 10,000), each on its own open work item claimed by a
  user with an e-mail address, so each timer means: claimed, one notification, one timeline event,
  one e-mail delivery sent. `carepath.tick` is queued to real Celery workers (1, then 2 processes)
  and the clock stops when every timer is done and every delivery sent. Timers per second.
- empty tick: the cost of a sweep with nothing due at 10k and 100k open cases (each with pending
  timers in the future): it must not grow with the table (partial index `timer_pending_due`).

Needs PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL). `measure(...)` returns a dict; the
bench runner calls it. Alone: `python -m bench.tick [--timers 10000] [--workers 1 2] [--cases 10000 100000]`.
Rows it creates carry the MRN prefix BENCHTICK and are deleted at the start of each run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
PREFIX = "BENCHTICK"


def _setup():
    import django

    django.setup()


def cleanup() -> None:
    from django.db import connection

    from carepath.models import Delivery
    from referrals.models import Referral

    ids = Referral.objects.filter(patient__mrn__startswith=PREFIX).values("pk")
    Delivery.objects.filter(referral__in=ids).delete()
    with connection.cursor() as cursor:  # the audit table is append-only; bench rows write none
        for table, column in (
            ("carepath_notification", "referral_id"),
            ("carepath_caseevent", "referral_id"),
            ("carepath_timer", "referral_id"),
            ("carepath_workitem", "referral_id"),
        ):
            cursor.execute(
                f"DELETE FROM {table} WHERE {column} IN (SELECT r.id FROM referrals_referral r "  # noqa: S608
                f"JOIN referrals_patient p ON p.id = r.patient_id WHERE p.mrn LIKE %s)",
                [PREFIX + "%"],
            )
        cursor.execute(
            "DELETE FROM referrals_referral WHERE patient_id IN (SELECT id FROM referrals_patient WHERE mrn LIKE %s)",
            [PREFIX + "%"],
        )
        cursor.execute("DELETE FROM referrals_patient WHERE mrn LIKE %s", [PREFIX + "%"])


def seed(cases: int, *, due: bool, start: int = 0, chunk: int = 5000) -> None:
    """`cases` open referrals with a claimed triage item each; `due`: one reminder due now per item,
    else a reminder and an escalation in the future (the shape of a live service)."""
    from datetime import date

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from carepath.models import Timer, WorkItem
    from referrals.models import Patient, Referral

    user, _ = get_user_model().objects.get_or_create(username="bench_tick", defaults={"email": "bench@example.org"})
    now = timezone.now()
    for offset in range(start, start + cases, chunk):
        n = min(chunk, start + cases - offset)
        patients = Patient.objects.bulk_create(
            Patient(  # bulk_create skips Patient.save: the unique MRN key it writes is given here
                mrn=f"{PREFIX}{offset + i}",
                mrn_key=f"{PREFIX}{offset + i}".casefold(),
                given_name="Bench",
                family_name="Tick",
                birth_date=date(2018, 1, 1),
            )
            for i in range(n)
        )
        referrals = Referral.objects.bulk_create(
            Referral(
                patient=p,
                created_by=user,
                reason="bench",
                symptom_onset=date(2024, 1, 1),
                side="left",
                requested_priority="routine",
                submitted_at=now,
                updated_at=now,
            )
            for p in patients
        )
        items = WorkItem.objects.bulk_create(
            WorkItem(
                referral=r,
                machine="referral",
                kind="triage",
                queue="neurologist",
                assigned_to=user,
                priority="routine",
                due_at=now + timedelta(days=5),
                created_at=now,
            )
            for r in referrals
        )
        timers = []
        for item in items:
            if due:
                timers.append(
                    Timer(
                        key=f"bench:{item.pk}:r",
                        kind="reminder",
                        due_at=now - timedelta(seconds=1),
                        referral_id=item.referral_id,
                        work_item=item,
                        data={"hours_before": 24},
                        created_at=now,
                    )
                )
            else:
                timers += [
                    Timer(
                        key=f"bench:{item.pk}:{k}",
                        kind=k,
                        due_at=item.due_at - timedelta(hours=h),
                        referral_id=item.referral_id,
                        work_item=item,
                        data={},
                        created_at=now,
                    )
                    for k, h in (("reminder", 24), ("escalation", 0))
                ]
        Timer.objects.bulk_create(timers, batch_size=5000)


def _workers(n: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "carepath",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench{i}-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        for i in range(n)
    ]


def throughput(timers: int, workers: int) -> dict:
    import redis
    from django.conf import settings
    from django.db.models import Max, Min, Q

    from carepath.models import Delivery, Timer
    from carepath.timers.tasks import tick
    from referrals.models import Referral

    cleanup()
    seed(timers, due=True)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    env = {**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "LOG_LEVEL": "WARNING"}
    procs = _workers(workers, env)
    time.sleep(4)  # workers connected and idle
    # Polled by id ranges (cheap index scans) so the stopwatch does not compete with the workers for
    # the CPU; the exact per-case count is checked once at the end.
    bench = Q(referral__patient__mrn__startswith=PREFIX)
    ids = Timer.objects.filter(bench).aggregate(lo=Min("pk"), hi=Max("pk"))
    cases = Referral.objects.filter(patient__mrn__startswith=PREFIX).aggregate(lo=Min("pk"), hi=Max("pk"))
    try:
        load_before = os.getloadavg()[0]
        cpu_before = sum(_group_cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        tick.delay()
        while True:
            done = Timer.objects.filter(pk__range=(ids["lo"], ids["hi"]), state="done").count()
            sent = Delivery.objects.filter(
                referral_id__gte=cases["lo"], referral_id__lte=cases["hi"], state="sent"
            ).count()
            if done >= timers and sent >= timers:
                break
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"timed out: {done} timers done, {sent} deliveries sent of {timers}")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        worker_cpu = sum(_group_cpu_seconds(p.pid) for p in procs) - cpu_before
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert Timer.objects.filter(bench, state="done").count() == timers
    assert Delivery.objects.filter(bench, state="sent").count() == timers
    return {
        "timers": timers,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "timers_per_second": round(timers / elapsed),
        # Celery workers' own CPU per timer (PostgreSQL's is not in it): what the machine's other load
        # cannot inflate, unlike the wall-clock figure on a shared host.
        "worker_cpu_ms_per_timer": round(worker_cpu * 1000 / timers, 3),
        # The machine's 1-minute load average before and after: the wall clock is only comparable with it.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (a worker and its pool), from /proc."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # the process ended while we looked
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def empty_tick(cases: int, repeats: int = 50, warmup: int = 10) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from carepath.timers import sweep

    cleanup()
    seed(cases, due=False)
    with connection.cursor() as cursor:
        for table in ("carepath_timer", "carepath_delivery"):  # as autovacuum would after a bulk load
            cursor.execute(f"VACUUM ANALYZE {table}")
    for _ in range(warmup):  # steady state: caches warm, the seeding's dead rows out of the way
        sweep.tick(dispatch=lambda ids: None, deliver=lambda ids: None)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            result = sweep.tick(dispatch=lambda ids: None, deliver=lambda ids: None)
        samples.append((time.perf_counter() - started) * 1000)
        assert result.claimed == 0
    return {
        "open_cases": cases,
        "pending_timers": cases * 2,
        "queries": len(queries),
        "ms_p50": round(statistics.median(samples), 2),
        "ms_max": round(max(samples), 2),
        "load_average": round(os.getloadavg()[0], 2),
    }


def measure(
    timers: int = 10_000, workers: tuple[int, ...] = (1, 2), cases: tuple[int, ...] = (10_000, 100_000)
) -> dict:
    _setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench.tick needs PostgreSQL (DATABASE_URL=postgres://…)")
    try:
        return {
            "scenario": "tick",
            "throughput": [throughput(timers, w) for w in workers],
            "empty_tick": [empty_tick(c) for c in cases],
        }
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    result = measure(args.timers, tuple(args.workers), tuple(args.cases))
    for row in result["throughput"]:
        print(
            f"tick: {row['timers']} due timers, {row['workers']} worker(s): {row['seconds']} s, "
            f"{row['timers_per_second']} timers/s, worker CPU {row['worker_cpu_ms_per_timer']} ms/timer, "
            f"load average {row['load_average'][0]} -> {row['load_average'][1]}"
        )
    for row in result["empty_tick"]:
        print(
            f"empty tick at {row['open_cases']} open cases: p50 {row['ms_p50']} ms, {row['queries']} queries, "
            f"load average {row['load_average']}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
