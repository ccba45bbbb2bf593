"""Scenario 4: HTTP requests per second through gunicorn, with a closed-loop load generator on the same
machine, each target against a bare Django view (docs/benchmarks.md). Django must be set up first
(bench.scenarios does it)."""

import os
import random
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection

from bench.lists import WORKLIST
from bench.measure import bearer, log, run_threads
from bench.run import ROOT, summary_ms
from referrals.models import Referral


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
    elapsed = run_threads(threads)
    return {"requests": len(latencies), "elapsed": elapsed, "errors": errors[0], "latencies": latencies}
