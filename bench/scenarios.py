"""One benchmark run on the database in DATABASE_URL (called by bench.run; prints JSON on stdout): seed,
then the list latencies (bench/lists.py), transitions (bench/transitions.py), HTTP (bench/http_load.py)
and, unless left out, the timer sweep (bench/tick.py) and MRI booking (bench/booking.py)."""

import json
import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from bench import seed as seeding  # noqa: E402
from bench.http_load import http  # noqa: E402
from bench.lists import lists  # noqa: E402
from bench.measure import log  # noqa: E402
from bench.transitions import transitions  # noqa: E402
from referrals.models import Referral  # noqa: E402


def tick() -> dict | None:
    """The Celery engineer's tick benchmark (bench/tick.py), when it exists."""
    try:
        from bench import tick as tick_bench
    except ImportError:
        return None
    try:
        return tick_bench.measure()
    except Exception as exc:  # noqa: BLE001 - reported in the results, never fatal to this run
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(size: int, options: dict) -> dict:
    if Referral.objects.exists():  # --keep-database on a seeded database: measure it as it is
        log(f"already seeded: {Referral.objects.count():,} referrals")
        seeded = {"referrals": Referral.objects.count(), "seconds": 0, "kept": True}
    else:
        log(f"seeding {size:,} referrals")
        seeded = seeding.seed(size)
    with connection.cursor() as cursor:
        # VACUUM too: a production database is vacuumed (visibility map, hint bits) and this machine's
        # PostgreSQL runs with autovacuum off; and no maintenance runs during the measurements below
        cursor.execute("VACUUM ANALYZE")
        # and CHECKPOINT: the bulk load left a checkpoint spread over the next minutes (17 forced by
        # max_wal_size while seeding 100,000), whose writes slowed every transition's WAL flush
        cursor.execute("CHECKPOINT")
    User = get_user_model()
    neurologists = list(User.objects.filter(username__startswith="bench_neurologist_").order_by("id"))
    log("lists")
    listed = lists(neurologists[0], options["requests"])
    log("transitions")
    moved = transitions(neurologists, options["transitions"])
    served = []
    for workers in worker_counts(options.get("workers")):
        log(f"http, {workers} gunicorn workers")
        served.append(http(neurologists[0], {**options, "workers": workers}))
    swept = tick() if options.get("tick", True) else None
    booked = None
    if options.get("booking", True):
        from bench import booking

        log("booking")
        booked = booking.measure(options)
    return {
        "referrals": size,
        "seed": seeded,
        "lists": listed,
        "transitions": moved,
        "http": served[0],
        "http_more": served[1:],
        "tick": swept,
        "booking": booked,
    }


def worker_counts(given: list[int] | None) -> list[int]:
    """gunicorn sync workers to measure, each on a server of its own: by default one per CPU (the
    deployment's count when PostgreSQL shares the CPUs: docs/decisions.md, "Web server workers"),
    then gunicorn's rule of thumb for a database elsewhere, 2 × CPUs + 1."""
    cpus = os.cpu_count() or 1
    return given or [cpus, 2 * cpus + 1]


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), json.loads(sys.argv[2]))))
