"""Scenario 7: webhook fan-out (docs/benchmarks.md). Transitions per second with no webhook endpoint
against the same transitions with N endpoints subscribed to every event type, in one run:

    DATABASE_URL=postgres://…/cp_bench_x CELERY_BROKER_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python -m bench.webhooks [--cases 60] [--rounds 8] [--endpoints 10] [--workers 1] [--json out.json]

- the database is migrated and, if it has fewer, seeded with enough submitted referrals for every
  round (bench/seed.py): each variant of each round moves `--cases` cases of its own, never moved
  before (a case moved again and again would carry a longer history into each round);
- N receivers: a child process serving N `http.server`s on localhost, each checking every message's
  Standard Webhooks signature with its own copy of the endpoint's secret (written here from the
  specification, not with CarePath's signing code) and recording what it got;
- the deliveries are written and sent as in production: the transition writes its events; the relay
  (`manage.py outbox_relay`, its own process, polling every 0.2 s) writes their deliveries and queues
  `integrations.deliver_events` to Redis; real Celery workers (`--workers` processes,
  `--concurrency 1`) run integrations/outbox/sending.py, which POSTs to the receivers;
- each round runs three variants in turn (their order rotates): **a** the endpoints inactive (no
  delivery written: the baseline), **b** active with the relay and workers working meanwhile, **b′**
  active with the relay and workers stopped (SIGSTOP) during the transitions and let go afterwards:
  the outbox's own cost in the transaction, without the senders' competition for the CPUs;
- the client (this process, one connection) moves each case returned → resubmitted: two
  transitions and three events (the return also tells the referrer: `notification.created`), so a
  receiver gets three ordered messages per case;
- after b and b′ the clock waits for every delivery to be sent (`--drain` seconds at most).

At the end the receivers' records are checked against the database: every delivery of the measured
events received exactly once by its endpoint, every signature valid, and per endpoint and case the
events in the order they were written (event id). Prints a JSON summary on stdout (and to `--json`).
"""

import argparse
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
VARIANTS = ("a", "b", "b'")


# --- the receivers (a child process; no Django) -------------------------------------------------------
def signature_ok(secret: str, headers: dict, body: bytes, now: float, tolerance: int = 300) -> bool:
    """Standard Webhooks verification: v1, base64 HMAC-SHA256 over `id.timestamp.body`, the key the
    base64 after `whsec_`; the timestamp within five minutes."""
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    given = [s.partition(",")[2].encode() for s in headers.get("webhook-signature", "").split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


def receivers(secrets: list[str], pipe) -> None:
    """Serve one receiver per secret; send the ports, then, when asked, what each one received:
    (webhook-id, case id, signature valid, arrival time)."""
    got: list[list[tuple]] = [[] for _ in secrets]
    lock = threading.Lock()

    def handler_for(index: int, secret: str):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrived = time.time()
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = signature_ok(secret, headers, body, arrived)
                case = (json.loads(body)["data"].get("referral") or {}).get("id")
                with lock:
                    got[index].append((headers.get("webhook-id"), case, valid, arrived))
                self.send_response(200 if valid else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler_for(i, s)) for i, s in enumerate(secrets)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send([s.server_port for s in servers])
    while (asked := pipe.recv()) != "stop":
        with lock:
            pipe.send(got if asked == "all" else sum(len(g) for g in got))
    for server in servers:
        server.shutdown()


# --- the run (Django) --------------------------------------------------------------------------------
def setup(cases: int):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from referrals.models import Referral

    if not Referral.objects.exists():
        from bench import seed as seeding

        seeding.STATES = {"submitted": 1}  # every case starts submitted: the client returns and resubmits it
        seeding.seed(cases)
    elif Referral.objects.filter(state="submitted", version=1).count() < cases:
        raise SystemExit(f"fewer than {cases} cases never moved: run on a new database")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def cases_and_actors(n: int) -> list[tuple[int, object, object]]:
    from django.contrib.auth import get_user_model

    from referrals.models import Referral

    neurologist = get_user_model().objects.filter(username="bench_neurologist_0").get()
    found = Referral.objects.filter(state="submitted", version=1).select_related("referred_by").order_by("id")[:n]
    return [(r.pk, neurologist, r.referred_by) for r in found]


def move(cases) -> None:
    """Each case returned to its referrer, then resubmitted: two transitions, three events."""
    from referrals import services

    for pk, neurologist, referrer in cases:
        services.referral_return_to_referrer(referral_id=pk, actor=neurologist, reason="Please add a video.")
        services.referral_resubmit(referral_id=pk, actor=referrer, response="Video attached.")


def endpoints(urls: list[str], secrets: list[str]) -> list[int]:
    from integrations.models import EventType, WebhookEndpoint

    WebhookEndpoint.objects.filter(name__startswith="bench ").delete()
    return [
        WebhookEndpoint.objects.create(
            name=f"bench {i}", url=url, secret=secret, event_types=list(EventType.values), active=False
        ).pk
        for i, (url, secret) in enumerate(zip(urls, secrets, strict=True))
    ]


def set_active(ids: list[int], active: bool) -> None:
    from integrations.models import WebhookEndpoint

    WebhookEndpoint.objects.filter(pk__in=ids).update(active=active)


def signal_workers(procs, sig) -> None:
    for p in procs:
        os.killpg(p.pid, sig)


def drain(first_delivery: int, expected: int, limit: float) -> tuple[float, int]:
    """Wait until `expected` deliveries after `first_delivery` are sent: (seconds waited, unsent left)."""
    from integrations.models import OutboundDelivery

    started = time.perf_counter()
    while True:
        sent = OutboundDelivery.objects.filter(pk__gt=first_delivery, state="sent").count()
        if sent >= expected or time.perf_counter() - started > limit:
            return time.perf_counter() - started, expected - sent
        time.sleep(0.05)


def last_ids() -> tuple[int, int]:
    from django.db.models import Max

    from integrations.models import Event, OutboundDelivery

    return (
        Event.objects.aggregate(m=Max("pk"))["m"] or 0,
        OutboundDelivery.objects.aggregate(m=Max("pk"))["m"] or 0,
    )


def one_round(variant: str, cases, endpoint_ids: list[int], procs, drain_limit: float) -> dict:
    from integrations.models import Event

    set_active(endpoint_ids, variant != "a")
    first_event, first_delivery = last_ids()
    if variant == "b'":
        signal_workers(procs, signal.SIGSTOP)
    cpu, started = time.process_time(), time.perf_counter()
    move(cases)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ended = time.time()
    if variant == "b'":
        signal_workers(procs, signal.SIGCONT)
    events = Event.objects.filter(pk__gt=first_event).count()
    row = {
        "variant": variant,
        "transitions": 2 * len(cases),
        "seconds": elapsed,
        "per_s": 2 * len(cases) / elapsed,
        "client_cpu_ms": cpu * 1000 / (2 * len(cases)),
        "events": events,
        "first_event": first_event,
        "ended": ended,
    }
    if variant != "a":
        waited, unsent = drain(first_delivery, events * len(endpoint_ids), drain_limit)
        row.update(drain_s=waited, unsent=unsent, deliveries=events * len(endpoint_ids))
    return row


def check(received: list[list[tuple]], endpoint_ids: list[int], measured: set[int]) -> dict:
    """Every measured event's delivery received once per endpoint, signatures valid, per-case order."""
    from integrations.models import Event, OutboundDelivery

    known = {f"evt_{uid.hex}": (pk, case) for pk, uid, case in Event.objects.values_list("pk", "uid", "referral_id")}
    result = {"received": 0, "duplicates": 0, "invalid_signatures": 0, "missing": 0, "out_of_order": 0}
    for got in received:
        result["received"] += len(got)
        result["invalid_signatures"] += sum(1 for _, _, valid, _ in got if not valid)
        events = [known[msg_id] for msg_id, _, _, _ in got]
        result["duplicates"] += len(events) - len(set(events))
        result["missing"] += len(measured - {pk for pk, _ in events})
        last_per_case: dict[int, int] = {}
        for pk, case in events:  # in the order they arrived
            if last_per_case.get(case, 0) > pk:
                result["out_of_order"] += 1
            last_per_case[case] = pk
    sent = OutboundDelivery.objects.filter(event_id__in=measured, endpoint_id__in=endpoint_ids)
    result["deliveries_written"] = sent.count()
    result["deliveries_not_sent"] = sent.exclude(state="sent").count()
    result["attempts_over_1"] = sent.filter(attempts__gt=1).count()
    return result


def lags(received: list[list[tuple]], rows: list[dict]) -> dict:
    """Per variant: the lag from each event's time to its arrival at each receiver, and the
    deliveries per second from the round's start to its last arrival."""
    from integrations.models import Event

    occurred = {f"evt_{uid.hex}": at.timestamp() for uid, at in Event.objects.values_list("uid", "occurred_at")}
    out = {}
    for variant in ("b", "b'"):
        mine = [r for r in rows if r["variant"] == variant]
        lag, rates = [], []
        for row in mine:
            ids = set(row["event_ids"])
            arrivals = [t for got in received for msg, _, _, t in got if msg in ids]
            lag += [t - occurred[msg] for got in received for msg, _, _, t in got if msg in ids]
            if arrivals:
                rates.append(len(arrivals) / (max(arrivals) - row["started_at"]))
        lag.sort()
        out[variant] = {
            "lag_p50_s": round(lag[len(lag) // 2], 3) if lag else None,
            "lag_p95_s": round(lag[int(len(lag) * 0.95)], 3) if lag else None,
            "lag_max_s": round(lag[-1], 3) if lag else None,
            "deliveries_per_s": round(statistics.median(rates), 1) if rates else None,
        }
    return out


def run(options) -> dict:
    from bench.tick import _group_cpu_seconds, _workers

    warm_up = 10
    setup(options.cases * options.rounds * len(VARIANTS) + warm_up)
    secrets = [f"whsec_{base64.b64encode(os.urandom(32)).decode()}" for _ in range(options.endpoints)]
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=receivers, args=(secrets, theirs), daemon=True)
    child.start()
    ports = ours.recv()
    endpoint_ids = endpoints([f"http://127.0.0.1:{p}/hook" for p in ports], secrets)
    cases = iter(cases_and_actors(options.cases * options.rounds * len(VARIANTS) + warm_up))
    take = lambda n: [next(cases) for _ in range(n)]  # noqa: E731
    import redis
    from django.conf import settings
    from django.db import connections

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    env = {**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "LOG_LEVEL": "WARNING"}
    connections.close_all()
    procs = _workers(options.workers, env) + [_relay(env)]  # "worker CPU" is theirs together
    time.sleep(4)  # workers connected and idle
    load_before = os.getloadavg()
    rows = []
    try:
        # warm-up, endpoints active: the session's statements prepared, the broker's connection opened
        set_active(endpoint_ids, True)
        first_delivery = last_ids()[1]
        move(take(warm_up))
        drain(first_delivery, 3 * warm_up * len(endpoint_ids), options.drain)
        for n in range(options.rounds):
            order = VARIANTS[n % 3 :] + VARIANTS[: n % 3]
            for variant in order:
                from integrations.models import Event

                started_at = time.time()
                cpu_before = sum(_group_cpu_seconds(p.pid) for p in procs)
                row = one_round(variant, take(options.cases), endpoint_ids, procs, options.drain)
                row["worker_cpu_s"] = sum(_group_cpu_seconds(p.pid) for p in procs) - cpu_before
                row["started_at"] = started_at
                row["round"] = n
                made = Event.objects.filter(pk__gt=row["first_event"]).values_list("pk", "uid")
                row["event_pks"] = [pk for pk, _ in made]
                row["event_ids"] = [f"evt_{uid.hex}" for _, uid in made]
                rows.append(row)
                print(
                    f"round {n} {variant:<2}: {row['per_s']:.1f} transitions/s, client CPU "
                    f"{row['client_cpu_ms']:.2f} ms each, drain {row.get('drain_s', 0):.2f} s, "
                    f"load {os.getloadavg()[0]:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
        load_after = os.getloadavg()
        ours.send("all")
        received = ours.recv()
    finally:
        signal_workers(procs, signal.SIGCONT)
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        ours.send("stop")
    measured = {pk for r in rows if r["variant"] != "a" for pk in r["event_pks"]}
    checked = check(received, endpoint_ids, measured)
    return summary(rows, checked, lags(received, rows), load_before, load_after, options)


def _relay(env: dict) -> subprocess.Popen:
    """The outbox's relay, as `./dev up` and docker-compose run it (its own process group)."""
    from bench.tick import ROOT

    return subprocess.Popen(
        [sys.executable, "manage.py", "outbox_relay"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )


def summary(rows, checked, lag, load_before, load_after, options) -> dict:
    by = {v: [r for r in rows if r["variant"] == v] for v in VARIANTS}
    rate = {v: statistics.median(r["per_s"] for r in by[v]) for v in VARIANTS}
    cpu = {v: statistics.median(r["client_cpu_ms"] for r in by[v]) for v in VARIANTS}
    per_round = {v: [r["per_s"] / a["per_s"] for r, a in zip(by[v], by["a"], strict=True)] for v in ("b", "b'")}
    return {
        "endpoints": options.endpoints,
        "workers": options.workers,
        "rounds": options.rounds,
        "transitions_per_round": 2 * options.cases,
        "per_s": {v: round(rate[v], 1) for v in VARIANTS},
        "ratio": {v: round(rate[v] / rate["a"], 3) for v in ("b", "b'")},
        "ratio_spread": {v: [round(min(x), 3), round(max(x), 3)] for v, x in per_round.items()},
        "client_cpu_ms": {v: round(cpu[v], 3) for v in VARIANTS},
        "worker_cpu_ms_per_delivery": {
            v: round(statistics.median(1000 * r["worker_cpu_s"] / r["deliveries"] for r in by[v]), 3)
            for v in ("b", "b'")
        },
        "drain_s": {v: round(statistics.median(r["drain_s"] for r in by[v]), 2) for v in ("b", "b'")},
        "delivery": lag,
        "check": checked,
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=60, help="cases per variant and round (two transitions each)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes sending")
    parser.add_argument("--drain", type=float, default=300, help="seconds to wait for the deliveries")
    parser.add_argument("--json", help="also write the summary to this file")
    options = parser.parse_args()
    result = json.dumps(run(options), indent=1)
    print(result)
    if options.json:
        with open(options.json, "w") as out:
            out.write(result)


if __name__ == "__main__":
    main()
