"""Scenario 1: list latency, each API list page against a hand-written SQL query returning the same page
(docs/benchmarks.md). Django must be set up first (bench.scenarios does it)."""

import io
import json
import sys

from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from bench.measure import bearer, count_queries, log, time_calls
from bench.run import summary_ms

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
