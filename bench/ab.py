"""Two versions of the code in one run, in turn (docs/benchmarks.md, run 11): on a shared VM whose speed
drifts by the minute, only figures taken side by side compare.

    .venv/bin/python -m bench.ab --old ../old-tree postgres://…/carepath_bench_old \\
        --new . postgres://…/carepath_bench_new [--rounds 8] [--json bench/results/ab.json]

Each tree (a git worktree with its `.venv`) has a seeded database of its own (`bench.seed`, the same
size in both). A helper process per tree, running that tree's code, answers the driver; the driver
asks each in turn and swaps which goes first every round, so a drift weighs on both alike:
- lists: the tree's list measurement (bench/lists.py: the API page and its SQL baseline in turn);
- triage: distinct submitted cases through the service, one client (the bench's transitions/s);
- triage through the API: `POST …/transitions/` in-process (Django's WSGI handler, bearer token);
- detail in-process: `GET /api/v1/referrals/{id}/`, wall time and the helper's CPU;
- HTTP: a gunicorn server per tree (one worker per CPU), 0.5 s rounds per target and tree.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# What runs in each tree, with that tree's code: only names both versions have.
HELPER = r"""
import io, json, sys, time
from bench import scenarios  # Django set up with bench.settings, as the bench runs
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from carepath.api.tokens import token_issue
from referrals import services
from referrals.models import Referral

neurologist = get_user_model().objects.filter(username__startswith="bench_neurologist_").order_by("id").first()
token = "Bearer " + token_issue(user=neurologist, name="bench-ab")[1]
app = WSGIHandler()
cases = iter(list(Referral.objects.filter(state="submitted").order_by("id").values_list("id", flat=True)))
detail = Referral.objects.filter(state="imaging").order_by("id").values_list("id", flat=True).first()

def call(method, path, body=b""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": token, "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": str(len(body)), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "wsgi.errors": sys.stderr}
    status = []
    response = app(environ, lambda line, headers, exc_info=None: status.append(line))
    out = b"".join(response)
    response.close()
    assert status[0].startswith("200"), (path, status, out[:300])

def timed(calls):
    wall, cpu = time.perf_counter(), time.process_time()
    for c in calls:
        c()
    return {"n": len(calls), "seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}

def triage(k):
    pks = [next(cases) for _ in range(k)]
    return timed([lambda pk=pk: services.referral_triage(referral_id=pk, actor=neurologist, priority="routine")
                  for pk in pks])

def triage_api(k):
    body = json.dumps({"transition": "triage", "data": {"priority": "routine"}}).encode()
    pks = [next(cases) for _ in range(k)]
    return timed([lambda pk=pk: call("POST", f"/api/v1/referrals/{pk}/transitions/", body) for pk in pks])

def get_detail(k):
    call("GET", f"/api/v1/referrals/{detail}/")
    return timed([lambda: call("GET", f"/api/v1/referrals/{detail}/")] * k)

commands = {"lists": lambda n: scenarios.lists(neurologist, n), "triage": triage, "triage_api": triage_api,
            "detail": get_detail, "targets": lambda _: {"referral": detail, "authorization": token}}
for line in sys.stdin:
    name, arg = json.loads(line)
    print(json.dumps(commands[name](arg)), flush=True)
"""


class Tree:
    """A helper process running one tree's code on that tree's database."""

    def __init__(self, name: str, path: str, url: str):
        self.name, self.path, self.url = name, Path(path).resolve(), url
        self.env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
        self.process = subprocess.Popen(
            [str(self.path / ".venv/bin/python"), "-u", "-c", HELPER],
            cwd=self.path,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str, arg=None):
        self.process.stdin.write(json.dumps([command, arg]) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}'s helper stopped (see stderr)")
        return json.loads(line)

    def gunicorn(self, port: int, workers: int) -> subprocess.Popen:
        return subprocess.Popen(
            [str(self.path / ".venv/bin/python"), "-m", "gunicorn", "carepath.wsgi", "-w", str(workers)]
            + ["-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=self.path,
            env=self.env,
        )


def in_turn(trees: dict, round_: int) -> list:
    names = list(trees)
    return [trees[n] for n in (names if round_ % 2 == 0 else names[::-1])]


def in_process(trees: dict, args) -> dict:
    out = {name: {"lists": [], "triage": [], "triage_api": [], "detail": []} for name in trees}
    for r in range(args.rounds):
        for command, arg in (
            ("lists", args.requests),
            ("triage", args.triages),
            ("triage_api", args.triages),
            ("detail", args.requests),
        ):
            for tree in in_turn(trees, r):
                out[tree.name][command].append(tree.ask(command, arg))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return out


def http(trees: dict, args) -> dict:
    from bench.http_load import _wait_for, combined, load

    workers = os.cpu_count() or 1
    ports = {name: 18000 + i + 10 * (os.getpid() % 90) for i, name in enumerate(trees)}
    servers = [tree.gunicorn(ports[tree.name], workers) for tree in trees.values()]
    try:
        targets = {}
        for name, tree in trees.items():
            _wait_for(ports[name])
            given = tree.ask("targets")
            auth = {"Authorization": given["authorization"]}
            targets[name] = {
                "bare Django JSON view": ("/bench/bare/", {}),
                "bare view reading the row": (f"/bench/bare/{given['referral']}/", {}),
                "referral detail (bearer)": (f"/api/v1/referrals/{given['referral']}/", auth),
                "worklist page of 50 (bearer)": ("/api/v1/worklist/?page_size=50", auth),
            }
        seconds = args.http_seconds / args.http_rounds
        rounds = {name: {target: [] for target in targets[name]} for name in trees}
        for name in trees:  # a round each, not counted: every worker prepares its statements
            for path, headers in targets[name].values():
                load(ports[name], path, headers, seconds, args.http_clients)
        for r in range(args.http_rounds):
            for target in targets["old"]:
                for tree in in_turn(trees, r):
                    path, headers = targets[tree.name][target]
                    rounds[tree.name][target].append(load(ports[tree.name], path, headers, seconds, args.http_clients))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    return {
        "workers": workers,
        "targets": {name: {t: combined(r) for t, r in rs.items()} for name, rs in rounds.items()},
    }


def spread(olds: list[float], news: list[float]) -> str:
    """new/old round by round (each pair taken side by side): the run's own noise."""
    ratios = sorted(n / o for o, n in zip(olds, news, strict=True) if o)
    return f"{ratios[0]:.2f}–{ratios[-1]:.2f}" if ratios else ""


def summary(measured: dict, served: dict | None) -> list[tuple]:
    """(measurement, old, new, new/old, per-round new/old), higher or lower as each line says."""
    old, new = measured["old"], measured["new"]
    rows = []
    for name in old["lists"][0]:
        o = [r[name] for r in old["lists"]]
        n = [r[name] for r in new["lists"]]
        for key, label in (("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("ratio_p95", "p95 × SQL")):
            a, b = statistics.median(x[key] for x in o), statistics.median(x[key] for x in n)
            rows.append(
                (f"{name}, {label} (median of rounds)", a, b, b / a, spread([x[key] for x in o], [x[key] for x in n]))
            )
    for command, label in (
        ("triage", "triages/s, service"),
        ("triage_api", "triages/s, API"),
        ("detail", "detail GET/s"),
    ):
        o, n = old[command], new[command]
        rate = [sum(x["n"] for x in xs) / sum(x["seconds"] for x in xs) for xs in (o, n)]
        cpu = [1000 * sum(x["cpu_seconds"] for x in xs) / sum(x["n"] for x in xs) for xs in (o, n)]
        rows.append(
            (
                f"{label} (in-process)",
                *rate,
                rate[1] / rate[0],
                spread(*[[x["n"] / x["seconds"] for x in xs] for xs in (o, n)]),
            )
        )
        rows.append(
            (
                f"{label}: helper CPU ms each",
                *cpu,
                cpu[1] / cpu[0],
                spread(*[[x["cpu_seconds"] / x["n"] for x in xs] for xs in (o, n)]),
            )
        )
    if served:
        for target, o in served["targets"]["old"].items():
            n = served["targets"]["new"][target]
            rows.append(
                (
                    f"HTTP {target}, req/s",
                    o["rps"],
                    n["rps"],
                    n["rps"] / o["rps"],
                    spread(o["rounds_rps"], n["rounds_rps"]),
                )
            )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", nargs=2, metavar=("TREE", "DATABASE_URL"), required=True)
    p.add_argument("--new", nargs=2, metavar=("TREE", "DATABASE_URL"), required=True)
    p.add_argument("--rounds", type=int, default=8, help="in-process rounds (each: lists, triages, details)")
    p.add_argument("--requests", type=int, default=50, help="list requests and detail GETs per round")
    p.add_argument("--triages", type=int, default=40, help="triages per round, service and API each")
    p.add_argument("--http-seconds", type=float, default=8.0, help="per target and tree")
    p.add_argument("--http-rounds", type=int, default=16)
    p.add_argument("--http-clients", type=int, default=8)
    p.add_argument("--no-http", dest="http", action="store_false")
    p.add_argument("--json", default="bench/results/ab.json")
    args = p.parse_args(argv)
    # the driver imports the load generator (bench/http_load.py), which needs Django set up; it sends no query
    os.environ.update(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=args.new[1])
    import django

    django.setup()
    trees = {"old": Tree("old", *args.old), "new": Tree("new", *args.new)}
    load_before = os.getloadavg()
    try:
        measured = in_process(trees, args)
        served = http(trees, args) if args.http else None
    finally:
        for tree in trees.values():
            tree.process.stdin.close()
            tree.process.wait(timeout=30)
    rows = summary(measured, served)
    print(f"{'measurement':<58}{'old':>10}{'new':>10}{'new/old':>9}  per round")
    for name, a, b, ratio, rounds in rows:
        print(f"{name:<58}{a:>10.2f}{b:>10.2f}{ratio:>9.2f}  {rounds}")
    print(f"load average {load_before[0]:.2f} → {os.getloadavg()[0]:.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"args": vars(args), "in_process": measured, "http": served, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
