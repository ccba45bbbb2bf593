"""One booking race of bench/booking.py: a client process per request (forked, each opening its own
database connection), all released at once by a barrier, each posting the `schedule` transition for
its own child through the API (Django's WSGI handler, a coordinator's bearer token), then how each
answer came back: won (200), lost cleanly (409 problem+json of type slottaken), or anything else."""

import json
import multiprocessing
import time

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

SLOT_TAKEN = "/slottaken"


def outcome(status: str, content_type: str, body: bytes) -> str:
    """'won', 'slot_taken' (a clean 409: problem+json naming the slot as taken), or the status line
    (with the problem's type, if any) for anything else."""
    if status.startswith("200"):
        return "won"
    problem = {}
    if content_type.startswith("application/problem+json"):
        try:
            problem = json.loads(body)
        except ValueError:
            problem = {}
    if status.startswith("409") and str(problem.get("type", "")).endswith(SLOT_TAKEN):
        return "slot_taken"
    return f"{status} {problem.get('type', content_type)}".strip()


def tally(outcomes: list[str]) -> dict:
    counts = {"won": 0, "slot_taken": 0, "other": {}}
    for o in outcomes:
        if o in ("won", "slot_taken"):
            counts[o] += 1
        else:
            counts["other"][o] = counts["other"].get(o, 0) + 1
    return counts


def race(requests: list, slots: list[tuple[int, object]], tokens: list[str]) -> dict:
    """Client i books requests[i] into slots[i] (scanner id, start) with tokens[i % len(tokens)]."""
    from bench.booking import call

    app = WSGIHandler()
    connections.close_all()  # each forked client opens its own connection
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(len(requests)), context.Queue()
    clients = [
        context.Process(target=_client, args=(app, call, tokens[i % len(tokens)], mri.pk, slot, barrier, answers))
        for i, (mri, slot) in enumerate(zip(requests, slots, strict=True))
    ]
    for c in clients:
        c.start()
    results = [answers.get(timeout=300) for _ in clients]
    for c in clients:
        c.join()
    seconds = max(r["done"] for r in results) - min(r["started"] for r in results)
    counts = tally([r["outcome"] for r in results])
    return {
        "clients": len(requests),
        "slots": len(set(slots)),
        **counts,
        "seconds": round(seconds, 3),
        "example_409": next((r["detail"] for r in results if r["outcome"] == "slot_taken"), ""),
    }


def _client(app, call, token: str, mri_id: int, slot: tuple, barrier, answers) -> None:
    scanner, start = slot
    body = json.dumps({"transition": "schedule", "data": {"scanner": scanner, "scheduled_start": start.isoformat()}})
    connections["default"].ensure_connection()  # connected before the start, so the race is the booking's
    barrier.wait()
    started = time.perf_counter()
    status, answer = call(app, token, "POST", f"/api/v1/mri-requests/{mri_id}/transitions/", body.encode())
    done = time.perf_counter()
    result = outcome(status, answer["content_type"], answer["body"])
    detail = ""
    if result == "slot_taken":
        detail = json.loads(answer["body"]).get("detail", "")
    answers.put({"outcome": result, "started": started, "done": done, "detail": detail})
    connections.close_all()
