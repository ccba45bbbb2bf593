"""The API benchmark (docs/design.md §9 scenarios 1, 3, 4; issue 3 §10). One command:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carepath_bench \\
        .venv/bin/python -m bench.run --referrals 10000 100000 --json var/bench.json

For each size it recreates the database, seeds it (bulk inserts, progress bar on stderr), and measures
list latency against a hand-written SQL baseline, transitions per second (uncontended and 8 clients
on the same 50 cases), and HTTP requests per second through gunicorn against a bare Django view.
If `bench/tick.py` exists, its `measure()` result is included.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from bench import pages

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        print("Set DATABASE_URL=postgres://…/<db>: the benchmark runs on PostgreSQL.", file=sys.stderr)
        return 2
    results = {"machine": machine(), "runs": []}
    for size in args.referrals:
        url = base_url if args.keep_database else _fresh_database(base_url, size)
        out = subprocess.run(
            [sys.executable, "-m", "bench.scenarios", str(size), json.dumps(vars(args))],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=False,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        results["runs"].append(json.loads(out.stdout))
        results["runs"][-1]["pages"] = pages.measure_in(url, min(args.requests, 100))  # web pages (bench/pages.py)
    print(table(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"\nJSON written to {args.json}")
    return 0


def _parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--referrals", type=int, nargs="+", default=[100_000], help="data set sizes (default 100000)")
    p.add_argument("--json", default="var/bench.json", help="where to write the results")
    p.add_argument("--requests", type=int, default=200, help="list requests per endpoint for latency")
    p.add_argument("--transitions", type=int, default=600, help="uncontended transitions to time")
    p.add_argument("--http-seconds", type=float, default=8.0, help="load generator duration per target")
    p.add_argument("--http-clients", type=int, default=8, help="concurrent load generator connections")
    p.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=None,
        help="gunicorn worker counts, each measured on its own server (default: one per CPU, then 2×CPUs+1)",
    )
    p.add_argument("--no-tick", dest="tick", action="store_false", help="leave out the timer sweep (bench/tick.py)")
    p.add_argument(
        "--no-booking", dest="booking", action="store_false", help="leave out MRI booking (bench/booking.py)"
    )
    p.add_argument(
        "--reservations", type=int, default=100_000, help="reservations on the books for the booking scenario"
    )
    p.add_argument("--clients", type=int, default=50, help="concurrent clients in the booking races")
    p.add_argument(
        "--keep-database", action="store_true", help="use DATABASE_URL as is (seeded only if it holds no referral)"
    )
    return p


def _fresh_database(base_url: str, size: int) -> str:
    """A database per size, dropped and recreated, migrated: every run starts from the same state."""
    import psycopg

    head, _, _ = base_url.rpartition("/")
    name = f"carepath_bench_{size}"
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    return url


def machine() -> dict:
    mem = ""
    try:
        mem = next(line.split(":")[1].strip() for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except OSError:
        pass
    cpu = platform.processor()
    try:
        cpu = next(line.split(":")[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def table(results: dict) -> str:
    lines = [f"machine: {results['machine']['cpu']} × {results['machine']['cpus']}, {results['machine']['memory']}"]
    for run in results["runs"]:
        lines.append(f"\n== {run['referrals']:,} referrals (seeded in {run['seed']['seconds']} s) ==")
        lines.append(f"{'list (page of 50)':<34}{'p50 ms':>9}{'p95 ms':>9}{'SQL p95':>9}{'×SQL':>7}{'queries':>9}")
        for name, row in run["lists"].items():
            lines.append(
                f"{name:<34}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['baseline_p95_ms']:>9.1f}"
                f"{row['ratio_p95']:>7.2f}{row['queries']:>9}"
            )
        t = run["transitions"]
        lines.append(
            f"transitions/s uncontended: {t['uncontended_per_s']:.0f} with 1 client, "
            f"{t['uncontended_parallel_per_s']:.0f} with {t['parallel_clients']} ({t['uncontended']} triages each)"
        )
        c = t["contended"]
        lines.append(
            f"contended ({c['clients']} clients × {c['cases']} cases): {c['per_s']:.0f} attempts/s, "
            f"{c['winners']} won, {c['conflicts']} got 409, {c['other_errors']} other errors, "
            f"lost updates: {c['lost_updates']}"
        )
        for h in [run["http"], *run.get("http_more", [])]:
            lines.append(f"HTTP with {h['workers']} gunicorn workers, {h['clients']} clients:")
            for name, row in h["targets"].items():
                lines.append(
                    f"  {name:<32}{row['rps']:>9.0f} req/s  p95 {row['p95_ms']:.1f} ms  errors {row['errors']}"
                )
            lines.append(
                f"  detail / bare view: {h['detail_vs_bare']:.0%}; / bare view reading the row: "
                f"{h['detail_vs_bare_row']:.0%}"
            )
        lines += pages.table_lines(run)
        if run.get("tick"):
            lines.append(f"tick: {json.dumps(run['tick'])}")
        if run.get("booking"):
            lines += booking_lines(run["booking"])
    return "\n".join(lines)


def booking_lines(booked: dict) -> list[str]:
    f, c = booked["find"], booked["contention"]
    lines = [
        f"$find ({booked['seed']['reservations']:,} reservations): p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms, "
        f"baseline p95 {f['baseline']['p95_ms']:.1f} ms ({f['ratio_p95']:.1f}×), {f['queries']} queries"
    ]
    if f.get("api", {}).get("p95_ms"):
        lines.append(f"GET …/slots/: p50 {f['api']['p50_ms']:.1f} ms, p95 {f['api']['p95_ms']:.1f} ms")
    for name, r in c["races"].items():
        lines.append(
            f"booking race, {name}: {r['clients']} clients, {r['won']} won, {r['slot_taken']} × 409 slottaken, "
            f"other {r['other'] or 0}"
        )
    lines.append(f"double bookings in the database: {json.dumps(c['double_bookings'])}")
    return lines


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 95), 2)}


if __name__ == "__main__":
    sys.exit(main())
