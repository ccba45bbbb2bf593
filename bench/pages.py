"""Web page speed (issue 5 §10): server time per main page on the bench's seeded data.

Server time is what Django spends on one GET through the whole middleware stack (session, auth,
CSRF, the view, its queries, template rendering), measured in-process with the test client: no
network, no browser. Each page is requested as a user of the role that uses it.

Run by `bench.run` after its scenarios, on the same database; alone, on a database that bench.run
(or `--seed`) has already filled:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carepath_bench_100000 \\
        .venv/bin/python -m bench.pages [--seed 10000] [--requests 100]
"""

import json
import os
import subprocess
import sys
import time

PAGES = (
    # name, role of the user, path (a callable for pages that need a case)
    ("sign-in", None, "/login/"),
    ("my work", "neurologist", "/work/"),
    ("my work (coordinator)", "imaging_coordinator", "/work/"),
    ("new referral", "pediatrician", "/referrals/new/?mrn=NEWBENCH1"),
    ("case page", "neurologist", lambda ids: f"/cases/{ids['case']}/"),
    ("MRI board", "imaging_coordinator", "/mri/board/"),
    ("reading queue", "neuroradiologist", "/mri/reading/"),
    ("reading (study)", "neuroradiologist", lambda ids: f"/mri/reading/{ids['study']}/"),
    ("notifications", "neurologist", "/notifications/"),
    ("dashboard", "neurologist", "/dashboard/"),
)


def measure_in(database_url: str, requests: int) -> dict:
    """bench.run's hook: measure in a subprocess on the run's database (Django is set up there)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.pages", "--requests", str(requests), "--json"],
        env={**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "bench.settings"},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def table_lines(run: dict) -> list[str]:
    pages = run.get("pages")
    if not pages:
        return []
    lines = [f"{'web page (server time)':<34}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'KiB':>7}"]
    for name, row in pages.items():
        lines.append(f"{name:<34}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['queries']:>9}{row['kib']:>7.0f}")
    return lines


def measure(requests: int) -> dict:
    """Static files are served from the source tree here: production's hashed manifest needs a
    collectstatic that the bench does not run (looking a name up in either is a dict lookup)."""
    from django.conf import settings
    from django.test.utils import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    source_static = {**settings.STORAGES, "staticfiles": plain}
    with override_settings(STORAGES=source_static):
        return _measure(requests)


def _measure(requests: int) -> dict:
    from django.test import Client

    from bench.measure import count_queries, log, time_calls
    from bench.run import summary_ms

    users, ids = _users(), _ids()
    out = {}
    for name, role, path in PAGES:
        path = path(ids) if callable(path) else path
        client = Client()
        if role:
            client.force_login(users[role])

        def get(client=client, path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        get()  # warm: the first request builds the URL resolver and the template cache
        with count_queries() as captured:
            size = len(get().content)
        out[name] = {**summary_ms(time_calls(get, n=requests)), "queries": captured[0], "kib": round(size / 1024, 1)}
        log(f"  {name} {path}: {out[name]}")
    return out


def _users() -> dict:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return {
        role: User.objects.get(username=f"bench_{role}_0")
        for role in ("neurologist", "imaging_coordinator", "pediatrician", "neuroradiologist")
    }


def _ids() -> dict:
    """A case in results review with its reported MRI (the fullest case page), and a study to report."""
    from imaging.models import MRIRequest
    from referrals.models import Referral

    case = Referral.objects.filter(state="results_review", mri_requests__isnull=False).order_by("-id").first()
    study = MRIRequest.objects.filter(state="performed").order_by("-id").first()
    assert case and study, "seed the database first (bench.run, or --seed N)"
    return {"case": case.pk, "study": study.pk}


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=100, help="requests per page")
    p.add_argument("--seed", type=int, default=0, help="seed this many referrals first (an empty, migrated database)")
    p.add_argument("--json", action="store_true", help="print JSON only (bench.run's hook)")
    args = p.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    if args.seed:
        from django.db import connection

        from bench import seed as seeding

        seeding.seed(args.seed)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    started = time.monotonic()
    pages = measure(args.requests)
    if args.json:
        print(json.dumps(pages))
    else:
        print("\n".join(table_lines({"pages": pages})))
        print(f"({args.requests} requests per page, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
