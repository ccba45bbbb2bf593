"""Sending outbound deliveries (webhooks, FHIR notifications) over HTTP, once each, in order per
receiver and case (docs/integrations.md, "Delivery, retries and ordering").

The claim, back-off, failure record, re-queue and resend are carepath/notify/delivery.py's, given
`OutboundDelivery`: a sender claims rows with a token and a lease, posts each, marks it sent right
after the receiver answered 2xx; a killed worker leaves its rows claimed until the lease expires and
the next `integrations.tick` queues them again. Receivers de-duplicate on `webhook-id` for the one
window we cannot close (the receiver answered and the worker died before the mark).

- ordering: only the head of a lane (the oldest unsent row of one receiver about one case) is
  claimed; when it is sent or dead, the next row of its lane is queued at once;
- 2xx: sent. 410 Gone: the receiver asked to stop; it is disabled and its unsent rows are dead.
  Anything else (3xx included, redirects are not followed), a time-out or a refused connection:
  failed, retried with back-off (`CAREPATH_WEBHOOK_BACKOFF_SECONDS` × 2^(attempt-1), ±25 %), dead
  after `CAREPATH_WEBHOOK_MAX_ATTEMPTS`.
"""

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from carepath.models import DeliveryState
from carepath.notify import delivery as machinery
from integrations.outbox.models import OutboundDelivery

log = logging.getLogger(__name__)

UNSENT = machinery.UNSENT
CHUNK = 50
FIELDS = ("kind", "event_id", "endpoint_id", "subscription_id", "lane", "body", "attempts")


@dataclass
class Chunk:
    """Rows claimed together, and what receivers read once for all of them (`memo`, e.g. the
    endpoints' URLs and secrets); forgotten when a receiver is turned off (410) mid-chunk."""

    rows: list[OutboundDelivery]
    memo: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Receiver:
    """How to send one kind of row: `prepare(row, chunk)` → (url, headers), or None when the receiver
    is off (the row is dead-lettered); `gone(row, reason)` turns the receiver off (HTTP 410);
    `done(row, outcome)`, if given, hears of every sent or dead row (a handshake activates)."""

    prepare: Callable[[OutboundDelivery, Chunk], tuple[str, dict] | None]
    gone: Callable[[OutboundDelivery, str], None]
    done: Callable[[OutboundDelivery, str], None] | None = None
    ready: Callable[[list[int]], None] | None = None  # writes the bodies of its rows among these ids left blank


_receivers: dict[str, Receiver] = {}


def register(kind: str, receiver: Receiver) -> None:
    _receivers[kind] = receiver


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is an answer, and not a 2xx: the delivery failed


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: str, headers: dict) -> int:
    """POST and return the HTTP status; raises OSError (refused, time-out) when there is none."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an HTTP URL: {url[:40]}")
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310  http(s) only, checked above
    try:
        with _opener.open(request, timeout=settings.CAREPATH_WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as answer:
        return answer.code


# --- which rows may go ------------------------------------------------------------------------------
def heads(ids: list[int]) -> list[int]:
    """The rows among `ids` with no earlier unsent row in their lane, and a body (a FHIR event's is
    written once it is numbered)."""
    earlier = OutboundDelivery.objects.filter(lane=OuterRef("lane"), id__lt=OuterRef("id"), state__in=UNSENT)
    rows = (
        OutboundDelivery.objects.filter(pk__in=ids, state__in=UNSENT)
        .exclude(body="")
        .exclude(~Q(lane="") & Exists(earlier))
    )
    return sorted(rows.values_list("pk", flat=True))


def next_in_lanes(lanes: set[str]) -> list[int]:
    """The oldest unsent row of each of these lanes (one query, the `outbound_lane` index)."""
    lanes = lanes - {""}
    if not lanes:
        return []
    firsts = OutboundDelivery.objects.filter(lane__in=lanes, state__in=UNSENT).values("lane").annotate(first=Min("id"))
    return sorted(row["first"] for row in firsts)


# --- sending ------------------------------------------------------------------------------------------
def deliver(ids: list[int]) -> tuple[dict, list[int]]:
    """Send what may go among `ids`; returns counts by outcome and the rows now next in their lanes
    (the caller queues them)."""
    counts = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0}
    for receiver in {r for r in _receivers.values() if r.ready is not None}:
        receiver.ready(ids)
    ready = heads(ids)
    counts["skipped"] += len(set(ids) - set(ready))
    done_lanes: set[str] = set()
    for start in range(0, len(ready), CHUNK):
        claim = machinery.claim_rows(
            OutboundDelivery, ready[start : start + CHUNK], max_attempts=max_attempts(), fields=FIELDS
        )
        counts["skipped"] += claim.skipped
        chunk = Chunk(claim.rows)
        for i, row in enumerate(claim.rows):
            if time.monotonic() > claim.deadline:
                machinery.release(claim.rows[i:], claim.token, model=OutboundDelivery)
                counts["skipped"] += len(claim.rows) - i
                break
            outcome = send_one(row, claim.token, chunk)
            counts[outcome] += 1
            if outcome in ("sent", "dead"):
                done_lanes.add(row.lane)
    return counts, next_in_lanes(done_lanes)


def max_attempts() -> int:
    return settings.CAREPATH_WEBHOOK_MAX_ATTEMPTS


def send_one(row: OutboundDelivery, token: str, chunk: Chunk) -> str:
    receiver = _receivers[row.kind]
    outcome = _send_one(receiver, row, token, chunk)
    if receiver.done is not None and outcome in ("sent", "dead"):
        receiver.done(row, outcome)
    return outcome


def _send_one(receiver: Receiver, row: OutboundDelivery, token: str, chunk: Chunk) -> str:
    target = receiver.prepare(row, chunk)
    if target is None:
        _finish(row, token, DeliveryState.DEAD, error="the receiver is disabled")
        return "dead"
    url, headers = target
    try:
        status = post(url, row.body, headers)
    except (OSError, ValueError) as exc:  # refused, reset, time-out, bad URL: no answer
        dead = machinery.record_failure(
            row, token, f"{type(exc).__name__}: {exc}", max_attempts=max_attempts(), base_seconds=backoff_base()
        )
        return "dead" if dead else "failed"
    if 200 <= status < 300:
        _finish(row, token, DeliveryState.SENT, status=status)
        return "sent"
    if status == 410:
        _finish(row, token, DeliveryState.DEAD, status=status, error="410 Gone: the receiver was disabled")
        receiver.gone(row, "410 Gone")
        chunk.memo.clear()  # the chunk's later rows for it find it off
        return "dead"
    OutboundDelivery.objects.filter(pk=row.pk).update(response_status=status)
    dead = machinery.record_failure(
        row, token, f"HTTP {status}", max_attempts=max_attempts(), base_seconds=backoff_base()
    )
    return "dead" if dead else "failed"


def backoff_base() -> int:
    return settings.CAREPATH_WEBHOOK_BACKOFF_SECONDS


def _finish(row: OutboundDelivery, token: str, state: str, *, status: int | None = None, error: str = "") -> None:
    now = timezone.now()
    mark = OutboundDelivery.objects.filter(pk=row.pk, claim_token=token)
    fields = dict(state=state, response_status=status, last_error=error, claimed_until=None)
    if state != DeliveryState.SENT:
        mark.update(**fields, sent_at=None)
        return
    with _relaxed_commit():
        mark.update(**fields, sent_at=now)


@contextmanager
def _relaxed_commit():
    """The sent mark's own transaction, committed without waiting for its WAL flush (PostgreSQL, as
    the e-mails' marks: docs/decisions.md, "Delivery marks"): the server has it before the next
    message goes, so a killed worker still sends nothing twice; a crash of the database server may
    forget the last fraction of a second of marks, and those messages go once more with the same
    `webhook-id`. Inside a caller's transaction (tests) nothing changes."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")
        yield


def kill_unsent(queryset, reason: str) -> int:
    """Dead-letter a disabled receiver's unsent rows (an admin may send them again once it is back)."""
    return queryset.filter(state__in=UNSENT).update(state=DeliveryState.DEAD, last_error=reason, claimed_until=None)


def schedule(attempts: int | None = None) -> list[int]:
    """The nominal wait before each retry, in seconds (docs/integrations.md)."""
    attempts = attempts or max_attempts()
    return [backoff_base() * 2 ** (n - 1) for n in range(1, attempts)]
