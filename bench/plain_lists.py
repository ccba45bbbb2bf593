"""The list pages with and without the compiled list code (issue 15 item 3), in one run.

    DATABASE_URL=postgres://…/<a seeded database> .venv/bin/python -m bench.plain_lists [--requests 200]

For the filtered referral list and a neurologist's worklist it times, in turn (a, b, c, a, b, c, …):
the API as it is (compiled id query, compiled page read, hand-built JSON), the same endpoint written as
plain Django and DRF (the viewset's queryset with its prefetches, the DRF paginator, django-filter,
the serializer: `PlainReferrals`, `PlainWorklist` below), and the hand-written SQL baseline of
bench/lists.py. It checks first that the two API versions answer the same JSON.
"""

import argparse
import json
import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db.models import Prefetch  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.routers import SimpleRouter  # noqa: E402

from bench import lists as s  # noqa: E402
from bench.measure import bearer, count_queries, log, time_calls  # noqa: E402
from bench.run import summary_ms  # noqa: E402
from carepath.api.common import AuditedListMixin  # noqa: E402
from carepath.api.views import WorklistViewSet, _worklist  # noqa: E402
from carepath.models import WorkItem, WorkItemStatus  # noqa: E402
from imaging.models import MRIRequest  # noqa: E402
from referrals.api import ReferralViewSet  # noqa: E402
from referrals.selectors import referrals_visible_to  # noqa: E402


class PlainReferrals(ReferralViewSet):
    """The referral list as plain Django/DRF: the queryset with its relations prefetched, serialized."""

    def get_queryset(self):
        items = WorkItem.objects.filter(status=WorkItemStatus.OPEN).order_by("due_at", "id")
        mris = MRIRequest.objects.order_by("requested_at").only("id", "referral_id")
        return referrals_visible_to(self.request.user).prefetch_related(
            Prefetch("work_items", queryset=items, to_attr="open_work_items"), Prefetch("mri_requests", queryset=mris)
        )

    def list(self, request, *args, **kwargs):
        return AuditedListMixin.list(self, request, *args, **kwargs)


class PlainWorklist(WorklistViewSet):
    def get_queryset(self):
        return _worklist(self.request.user)

    def list(self, request, *args, **kwargs):
        return AuditedListMixin.list(self, request, *args, **kwargs)


router = SimpleRouter()
router.register("plain/referrals", PlainReferrals, basename="plain-referral")
router.register("plain/worklist", PlainWorklist, basename="plain-worklist")
urlpatterns = [path("", include(router.urls)), path("", include("bench.urls"))]
settings.ROOT_URLCONF = __name__


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=200)
    n = p.parse_args(argv).requests
    neurologist = get_user_model().objects.filter(username__startswith="bench_neurologist_").order_by("id").first()
    caller = s.Caller(bearer(neurologist))
    cases = {
        "filtered referral list": (s.REFERRAL_LIST, s.REFERRAL_SQL, [s.PAGE + 1]),
        "worklist (neurologist)": (s.WORKLIST, s.WORKLIST_SQL, [neurologist.pk, ["neurologist"], s.PAGE + 1]),
    }
    out = {"load_before": os.getloadavg()}
    for name, (url, sql, params) in cases.items():
        plain_url = url.replace("/api/v1/", "/plain/")

        def call(url):
            status, body = caller.get(url)
            assert status.startswith("200"), body[:300]
            return body

        compiled_body, plain_body = json.loads(call(url)), json.loads(call(plain_url))
        same = compiled_body["results"] == plain_body["results"]
        counts = {}
        for label, u in (("compiled", url), ("plain", plain_url)):
            with count_queries() as captured:
                call(u)
            counts[label] = captured[0]
        timed = time_calls(
            lambda url=url: call(url),
            lambda u=plain_url: call(u),
            lambda sql=sql, params=params: s.sql_page(sql, params),
            n=n,
        )
        compiled, plain, base = map(summary_ms, timed)
        out[name] = {
            "same_json": same,
            "rows": len(plain_body["results"]),
            "baseline": base,
            "compiled": {
                **compiled,
                "ratio_p95": round(compiled["p95_ms"] / base["p95_ms"], 2),
                "queries": counts["compiled"],
            },
            "plain": {**plain, "ratio_p95": round(plain["p95_ms"] / base["p95_ms"], 2), "queries": counts["plain"]},
        }
        log(f"{name}: {json.dumps(out[name])}")
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
