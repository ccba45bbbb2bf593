"""One benchmark run on the database in DATABASE_URL (called by bench.run; prints JSON on stdout)."""

import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
import django  # noqa: E402

django.setup()

from contextlib import contextmanager  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, connections  # noqa: E402

from bench import seed as seeding  # noqa: E402
from bench.run import ROOT, summary_ms  # noqa: E402
from carepath.api.tokens import token_issue  # noqa: E402
from carepath.pathway.errors import StaleVersion, TransitionNotAllowed  # noqa: E402
from referrals import services  # noqa: E402
from referrals.models import Referral  # noqa: E402

PAGE = 50
REFERRAL_LIST = f"/api/v1/referrals/?state=triaged&priority=routine&page_size={PAGE}"
WORKLIST = f"/api/v1/worklist/?page_size={PAGE}"

# Every column the API's page carries (ReferralSerializer's fields that come from the database), so
# the baseline produces the same page; what the API computes (links, labels, allowed transitions) is
# left to the API.
REFERRAL_SQL = """
SELECT r.id, r.state, r.version, r.priority, r.requested_priority, r.referred_by_id, r.created_by_id,
       r.reason, r.symptom_onset, r.side, r.muscles, r.spread, r.frequency, r.red_flags, r.clinical_notes,
       r.priority_override_reason, r.return_reason, r.referrer_response, r.decline_reason, r.decline_advice,
       r.cancel_reason, r.was_not_brought_count, r.loop_closed_unacknowledged, r.submitted_at, r.triaged_at,
       r.mri_requested_at, r.neurosurgery_requested_at, r.concluded_at, r.closed_at, r.updated_at,
       p.id, p.mrn, p.given_name, p.family_name, p.birth_date, p.sex,
       (SELECT json_agg(json_build_object('work_item', w.id, 'kind', w.kind, 'queue', w.queue,
                                          'assigned_to', w.assigned_to_id, 'priority', w.priority,
                                          'due_at', w.due_at) ORDER BY w.due_at, w.id)
          FROM carepath_workitem w WHERE w.referral_id = r.id AND w.status = 'open') AS deadlines,
       (SELECT array_agg(m.id ORDER BY m.requested_at) FROM imaging_mrirequest m WHERE m.referral_id = r.id)
          AS mri_requests
  FROM referrals_referral r JOIN referrals_patient p ON p.id = r.patient_id
 WHERE r.state = 'triaged' AND r.priority = 'routine'
 ORDER BY r.submitted_at DESC, r.id DESC LIMIT %s
"""
# The worklist's own order (carepath.models.due_or_never), which its index serves.
WORKLIST_SQL = """
SELECT w.id, w.kind, w.machine, w.is_primary, w.queue, w.assigned_to_id, w.status, w.priority, w.due_at,
       w.created_at, w.note, w.mri_request_id, r.id, r.state, p.given_name, p.family_name
  FROM carepath_workitem w JOIN referrals_referral r ON r.id = w.referral_id
  JOIN referrals_patient p ON p.id = r.patient_id
 WHERE w.status = 'open' AND (w.assigned_to_id = %s OR (w.assigned_to_id IS NULL AND w.queue = ANY(%s)))
 ORDER BY COALESCE(w.due_at, '9999-12-31 00:00:00+00'::timestamptz), w.id LIMIT %s
"""


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


# --- 1. list latency against hand-written SQL -----------------------------------------------------
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


def sql_page(sql: str, params) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return json.dumps({"results": rows}, default=str).encode()


class Caller:
    """GET requests through Django's WSGI handler, the callable gunicorn calls, with the environ a
    WSGI server builds. Not the test client: it copies each request, records templates and signals,
    and keeps cookies, ~0.45 ms a request that no server pays (docs/benchmarks.md, run 4)."""

    def __init__(self, authorization: str):
        self.app, self.authorization = WSGIHandler(), authorization

    def get(self, url: str) -> tuple[str, bytes]:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": self.authorization,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        status = []
        response = self.app(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            body = b"".join(response)
        finally:
            response.close()
        return status[0], body


def lists(neurologist, n: int) -> dict:
    caller = Caller(bearer(neurologist))
    cases = {
        "filtered referral list": (REFERRAL_LIST, REFERRAL_SQL, [PAGE + 1]),
        "worklist (neurologist)": (WORKLIST, WORKLIST_SQL, [neurologist.pk, ["neurologist"], PAGE + 1]),
    }
    out = {}
    for name, (url, sql, params) in cases.items():

        def api_call(url=url):
            status, body = caller.get(url)
            assert status.startswith("200"), body[:200]
            return body

        api_call()  # warm: the token's first use and first-request set-up are not the list's cost
        with count_queries() as captured:
            rows = len(json.loads(api_call())["results"])
        api, base = map(summary_ms, time_calls(api_call, lambda sql=sql, params=params: sql_page(sql, params), n=n))
        out[name] = {
            **api,
            "baseline_p50_ms": base["p50_ms"],
            "baseline_p95_ms": base["p95_ms"],
            "ratio_p95": round(api["p95_ms"] / base["p95_ms"], 2),
            "queries": captured[0],
            "rows": rows,
        }
        log(f"  {name}: {out[name]}")
    return out


# --- 3. transitions per second --------------------------------------------------------------------
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
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
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


# --- HTTP through gunicorn ------------------------------------------------------------------------
def http(neurologist, options: dict) -> dict:
    workers = options["workers"]
    port = 18000 + random.randint(0, 999)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "carepath.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    try:
        _wait_for(port)
        auth = bearer(neurologist)
        referral = Referral.objects.filter(state="imaging").order_by("id").values_list("id", flat=True).first()
        targets = {
            "bare Django JSON view": ("/bench/bare/", {}),
            "bare view reading the row": (f"/bench/bare/{referral}/", {}),
            "referral detail (bearer)": (f"/api/v1/referrals/{referral}/", {"Authorization": auth}),
            "worklist page of 50 (bearer)": (WORKLIST, {"Authorization": auth}),
        }
        # In rounds, each target in turn, so that a change in the machine's speed during the run (a
        # shared VM's often is) weighs on every target alike; each target's figures are its rounds' sum.
        rounds = {name: [] for name in targets}
        for path, headers in targets.values():  # a round each, not counted: every worker's first
            # requests to a target prepare its statements and read the token
            load(port, path, headers, options["http_seconds"] / HTTP_ROUNDS, options["http_clients"])
        for _ in range(HTTP_ROUNDS):
            for name, (path, headers) in targets.items():
                seconds = options["http_seconds"] / HTTP_ROUNDS
                rounds[name].append(load(port, path, headers, seconds, options["http_clients"]))
        out = {name: combined(done) for name, done in rounds.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, row in out.items():
        log(f"  {name}: {row}")
    detail = out["referral detail (bearer)"]["rps"]
    return {
        "workers": workers,
        "clients": options["http_clients"],
        "seconds": options["http_seconds"],
        "targets": out,
        "detail_vs_bare": round(detail / out["bare Django JSON view"]["rps"], 3),
        "detail_vs_bare_row": round(detail / out["bare view reading the row"]["rps"], 3),
    }


HTTP_ROUNDS = 16  # of 0.5 s each by default: short enough that a drift of the VM weighs on every target


def combined(rounds: list[dict]) -> dict:
    latencies = [t for r in rounds for t in r.pop("latencies")]
    elapsed = sum(r["elapsed"] for r in rounds)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "errors": sum(r["errors"] for r in rounds),
        "rounds_rps": [round(r["requests"] / r["elapsed"], 1) for r in rounds],
        **summary_ms(latencies),
    }


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def load(port: int, path: str, headers: dict, seconds: float, clients: int) -> dict:
    """A small closed-loop load generator: `clients` keep-alive connections, as fast as answers come."""
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker():
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            bad += response.status != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    for _ in range(2):  # warm every worker's connection pool and caches
        conn = HTTPConnection("127.0.0.1", port)
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "elapsed": elapsed, "errors": errors[0], "latencies": latencies}


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
    return {
        "referrals": size,
        "seed": seeded,
        "lists": listed,
        "transitions": moved,
        "http": served[0],
        "http_more": served[1:],
        "tick": swept,
    }


def worker_counts(given: list[int] | None) -> list[int]:
    """gunicorn sync workers to measure, each on a server of its own: by default one per CPU (the
    deployment's count when PostgreSQL shares the CPUs: docs/decisions.md, "Web server workers"),
    then gunicorn's rule of thumb for a database elsewhere, 2 × CPUs + 1."""
    cpus = os.cpu_count() or 1
    return given or [cpus, 2 * cpus + 1]


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), json.loads(sys.argv[2]))))
