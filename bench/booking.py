"""Scenario 5: MRI booking (issue 16 item 5; docs/benchmarks.md, run 12).

    DATABASE_URL=postgres://…/<a migrated database> .venv/bin/python -m bench.booking \\
        [--referrals 10000] [--reservations 100000] [--clients 50] [--requests 200] [--json PATH]

On a database seeded by `bench.seed` (done here first if it holds no referral), `bench.booking_seed`
puts N reservations on the books (two sites, five scanners, anaesthesia lists; years of past scans,
the coming weeks nearly full). Then:
1. **$find**: `finder.find_slots` for the requests waiting to be booked (mixed sedation plans, so GA
   children search the anaesthesia lists), timed in turn with its baseline, the one indexed query of
   the live reservations of every scanner over the days the finder had to read for that request
   (hand-written SQL); and `GET /api/v1/mri-requests/{id}/slots/` the same way where the API has it.
2. **Contention**: `clients` client processes (forked, one connection each) post the `schedule`
   transition through the API (Django's WSGI handler, a coordinator's bearer token) at once, each
   for its own child, into the same few slots: one slot; five overlapping grid times; and a GA
   slot on two scanners sharing one anaesthesia list. Every answer is counted (a win, a 409
   problem+json of type slottaken, or anything else), then the database is asked how many live
   reservations overlap another (per scanner with turnaround, per list, per child): it must be 0.
`bench.scenarios` runs `measure()` on its own seeded database after the other scenarios.
"""

import argparse
import io
import json
import os
import sys
from datetime import timedelta
from itertools import cycle

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:  # run as `python -m bench.booking`; bench.scenarios and the tests set Django up first
    django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Exists, OuterRef  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import booking_seed  # noqa: E402
from bench.measure import bearer, count_queries, log, time_calls  # noqa: E402
from imaging.capacity import calendar, finder  # noqa: E402
from imaging.capacity.models import Reservation, Scanner  # noqa: E402
from imaging.choices import Sedation  # noqa: E402
from imaging.guards import default_sedation  # noqa: E402
from imaging.models import Appointment, MRIRequest  # noqa: E402

WAITING = ("protocoled", "needs_rebooking")
BASELINE_SQL = """
SELECT scanner_id, anaesthesia_list_id, patient_id, start, "end", busy_until FROM {table}
 WHERE scanner_id = ANY(%s) AND start >= %s AND start < %s AND busy_until > %s
   AND released_at IS NULL AND (kind = 'booking' OR expires_at > %s)
"""


def measure(options: dict) -> dict:
    """Seed the capacity, then time $find and race the bookings (see the module's docstring)."""
    seeded = booking_seed.seed(options.get("reservations", 100_000))
    log(f"booking: {json.dumps(seeded)}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    coordinator = get_user_model().objects.filter(username__startswith="bench_imaging_coordinator_").first()
    found = find(options.get("requests", 200), coordinator)
    raced = contention(options.get("clients", 50))
    return {"seed": seeded, "find": found, "contention": raced, "load_after": os.getloadavg()}


def waiting(n: int, offset: int = 0) -> list[MRIRequest]:
    rows = MRIRequest.objects.filter(state__in=WAITING).select_related("referral__patient").order_by("id")
    return list(rows[offset : offset + n])


def read_span(mri, now) -> tuple:
    """The span of days the finder reads to find this request's slots (its first chunks)."""
    slots = finder.find_slots(mri, now=now)
    last = slots[-1].start if slots else now + finder.BOOKING_HORIZON
    start, end = finder._bounds(None, None, now)
    chunk_end = end
    for _, chunk_end in finder._chunks(start, end):
        if chunk_end > last:
            break
    return start, chunk_end, slots


def find(n: int, coordinator, sample: int = 30) -> dict:
    now, load_before = timezone.now(), os.getloadavg()
    requests = waiting(sample)
    scanner_ids = list(Scanner.objects.filter(active=True).values_list("id", flat=True))
    spans = {mri.pk: read_span(mri, now) for mri in requests}
    sql = BASELINE_SQL.format(table=Reservation._meta.db_table)

    def baseline(mri):
        start, end, _ = spans[mri.pk]
        with connection.cursor() as cursor:
            cursor.execute(sql, [scanner_ids, start - calendar.MAX_RESERVATION, end, start, timezone.now()])
            return cursor.fetchall()

    finds, bases = cycle(requests), cycle(requests)
    timed = time_calls(lambda: finder.find_slots(next(finds)), lambda: baseline(next(bases)), n=n)
    found = [spans[m.pk][2] for m in requests]
    queries = {}  # per sedation plan: the first request of each
    for mri, slots in zip(requests, found, strict=True):
        if slots and slots[0].sedation not in queries:
            with count_queries() as counted:
                finder.find_slots(mri)
            queries[slots[0].sedation] = counted[0]
    out = {
        "requests": len(requests),
        "sedation": _count(slots[0].sedation for slots in found if slots),
        "days_read": _count((spans[m.pk][1] - spans[m.pk][0]).days for m in requests),
        "reservations_read": round(sum(len(baseline(m)) for m in requests) / len(requests)),
        "breaching_first_slot": sum(1 for slots in found if slots and slots[0].breaches_due),
        "queries": queries,
        **_ratio(*timed),
    }
    api = _api_find(n, coordinator, requests, baseline)
    if api:
        out["api"] = api
    out["load"] = {"before": load_before, "after": os.getloadavg()}  # the machine is shared: say how busy
    log(f"booking $find: {json.dumps(out)}")
    return out


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def _ratio(timed, base) -> dict:
    from bench.run import summary_ms

    timed, base = summary_ms(timed), summary_ms(base)
    return {**timed, "baseline": base, "ratio_p95": round(timed["p95_ms"] / base["p95_ms"], 2)}


def _api_find(n: int, coordinator, requests, baseline) -> dict | None:
    """`GET /api/v1/mri-requests/{id}/slots/` in turn with the baseline, where the API has it."""
    try:
        resolve(f"/api/v1/mri-requests/{requests[0].pk}/slots/")
    except Resolver404:
        return None
    app, token = WSGIHandler(), bearer(coordinator)
    calls, bases = cycle(requests), cycle(requests)
    status, _ = call(app, token, "GET", f"/api/v1/mri-requests/{requests[0].pk}/slots/")
    if not status.startswith("200"):
        return {"error": status}
    timed = time_calls(
        lambda: call(app, token, "GET", f"/api/v1/mri-requests/{next(calls).pk}/slots/"),
        lambda: baseline(next(bases)),
        n=n,
    )
    return _ratio(*timed)


def call(app, token: str, method: str, path: str, body: bytes = b"") -> tuple[str, dict]:
    """One request through Django's WSGI handler: (status line, {content_type, body})."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": token,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    started = []
    response = app(environ, lambda line, headers, exc_info=None: started.append((line, dict(headers))))
    content = b"".join(response)
    response.close()
    line, headers = started[0]
    return line, {"content_type": headers.get("Content-Type", ""), "body": content}


# --- contention ---------------------------------------------------------------------------------------
def contention(clients: int) -> dict:
    """Three races of `clients` bookings each, every client its own child (see the docstring)."""
    from bench.booking_race import race

    now = timezone.now()
    pool = waiting(2000, offset=30)  # the first 30 are $find's sample
    awake = [m for m in pool if _sedation(m, now) == Sedation.NONE]
    ga = [m for m in pool if _sedation(m, now) == Sedation.GENERAL_ANAESTHESIA]
    if len(awake) < 2 * clients or len(ga) < clients:
        raise RuntimeError(f"too few requests waiting: {len(awake)} awake, {len(ga)} GA (seed more referrals)")
    scanners = {s.name: s for s in Scanner.objects.filter(site__name__in=booking_seed.SITES)}
    a1, a2, a3 = (scanners[n] for n in ("MRI A1 (3 T)", "MRI A2 (1.5 T)", "MRI A3 (1.5 T)"))

    def one_slot() -> list:
        first = finder.find_slots(awake[0], scanner=a3, limit=1)[0]
        return [(a3.pk, first.start)] * clients

    def five_grid_times() -> list:  # overlapping: 40 minutes' booking, a 15-minute grid
        return [(a3.pk, s.start) for s in finder.find_slots(awake[clients], scanner=a3, limit=5)] * (clients // 5)

    def one_ga_list() -> list:
        shared = _shared_ga_start(ga[0], a1, a2)
        return [(a1.pk, shared), (a2.pk, shared)] * (clients // 2)

    races = {  # each race's slots are found when it starts: the free ones after the races before it
        "one slot, one scanner": (one_slot, awake[:clients]),
        "five overlapping grid times": (five_grid_times, awake[clients : 2 * clients]),
        "one GA list, two scanners": (one_ga_list, ga[:clients]),
    }
    tokens = [bearer(u) for u in get_user_model().objects.filter(username__startswith="bench_imaging_coordinator_")]
    out = {"clients": clients, "races": {}}
    for name, (slots, requests) in races.items():
        result = race(requests, slots(), tokens)
        out["races"][name] = {**result, "checked": _check_race(requests, result)}
        log(f"booking race {name}: {json.dumps(out['races'][name])}")
    out["double_bookings"] = double_bookings()
    return out


def _sedation(mri, now) -> str:
    return default_sedation(mri, {"scheduled_start": now + timedelta(days=7)})


def _shared_ga_start(mri, first: Scanner, second: Scanner):
    """The earliest GA start free on both scanners (so the race is decided by the list they share)."""
    on_second = {s.start for s in finder.find_slots(mri, scanner=second, limit=finder.MAX_LIMIT)}
    return next(s.start for s in finder.find_slots(mri, scanner=first, limit=finder.MAX_LIMIT) if s.start in on_second)


def _check_race(requests, result: dict) -> dict:
    """What the database says after a race: the winners' requests scheduled with one booking each,
    every other request untouched."""
    ids = [m.pk for m in requests]
    scheduled = MRIRequest.objects.filter(pk__in=ids, state="scheduled").count()
    booked = Appointment.objects.filter(mri_request__in=ids, status="booked").count()
    live = Reservation.objects.filter(calendar.live(), mri_request__in=ids).count()
    ok = scheduled == booked == live == result["won"]
    return {"scheduled": scheduled, "appointments_booked": booked, "live_reservations": live, "consistent": ok}


def double_bookings() -> dict:
    """Live reservations (not an admin's override) overlapping another: per scanner (scan plus
    turnaround), per anaesthesia list, per child (the scans). Each must be 0."""
    live = Reservation.objects.filter(calendar.live(), override_reason="")

    def overlapping(owner: str, end: str) -> int:
        other = live.filter(**{owner: OuterRef(owner), "start__lt": OuterRef(end), f"{end}__gt": OuterRef("start")})
        return live.filter(**{f"{owner}__isnull": False}).filter(Exists(other.exclude(pk=OuterRef("pk")))).count()

    return {
        "live": live.count(),
        "scanner": overlapping("scanner", "busy_until"),
        "anaesthesia_list": overlapping("anaesthesia_list", "busy_until"),
        "child": overlapping("patient", "end"),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--referrals", type=int, default=10_000, help="bench.seed's size, if the database is empty")
    p.add_argument("--reservations", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--requests", type=int, default=200, help="$find calls timed (and as many baselines)")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    from bench import seed
    from referrals.models import Referral

    log(f"load average before: {os.getloadavg()}")
    if not Referral.objects.exists():
        log(f"seeding {args.referrals:,} referrals: {seed.seed(args.referrals)}")
    out = measure(vars(args))
    connections.close_all()
    print(json.dumps(out, indent=1, default=str))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
