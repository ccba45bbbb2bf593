"""Delivering e-mails and texts (docs/design.md §4): the `Delivery` rows that `carepath.notify.notifications`
writes, sent at most once each, however workers die.

- a sender claims a chunk of unsent rows with a claim token and a lease (one UPDATE), opens one
  mail connection for the chunk, and marks each row sent right after its message has gone (one
  single-row UPDATE in autocommit). A killed worker leaves its rows pending with a claim that
  expires after `DELIVERY_LEASE_SECONDS`; the redelivered task (or the next tick) claims them again
  and sends each once. A live sender stops using its claim at half the lease, so two senders never
  hold the same row;
- a failure is recorded on the row with a back-off (`DELIVERY_BACKOFF_SECONDS` × 2^attempts, ±25 %
  jitter); after `DELIVERY_MAX_ATTEMPTS` the row is `dead` (visible in the admin) and the chunk
  moves on; a row whose sender died that many times is dead-lettered at the next claim;
- the claim, release, failure, re-queue and resend functions take the model they work on, so other
  outbound messages kept in a table with the same claim columns reuse them (the webhooks and FHIR
  notifications of `integrations/outbox/`);
- a row whose dedupe key starts with `ONE_TIME` carries a one-time secret in its body (a family's
  upload link): once it is marked sent, the addresses in its body are blanked (`forget_addresses`),
  so the secret stays in the table only while it may be needed to send (docs/decisions.md,
  "Attachments");
- the e-mail's Message-ID is derived from the dedupe key, so in the one window we cannot close (the
  server accepted the message and the worker died before the row was marked) the copy is
  recognisable. At most one message per killed sender is in that window.
"""

import hashlib
import logging
import random
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from carepath.models import Channel, Delivery, DeliveryState, Notification
from carepath.pathway.audit import RELAXED
from carepath.pathway.text import single_line
from carepath.timers import queue

log = logging.getLogger(__name__)


# --- claims ---------------------------------------------------------------------------------------
def lease() -> timedelta:
    return timedelta(seconds=settings.CAREPATH_DELIVERY_LEASE_SECONDS)


@dataclass
class Claim:
    """Deliveries one sender holds: nobody else takes them before `until` (the lease), and the sender
    stops using them at `deadline` (half the lease, on the monotonic clock), so its claim never
    expires under it."""

    token: str
    until: datetime
    deadline: float
    rows: list[Delivery] = field(default_factory=list)
    skipped: int = 0  # asked for, but unsent rows someone else holds (or already sent)


def new_claim() -> Claim:
    held = lease()
    return Claim(uuid.uuid4().hex, timezone.now() + held, time.monotonic() + held.total_seconds() / 2)


def queue_delivery(ids: list[int]) -> None:
    queue.deliver_on_commit(ids)


# --- channels -------------------------------------------------------------------------------------
class SmsChannel(Protocol):
    def send(self, *, to: str, body: str, reference: str) -> None: ...


class LoggingSmsChannel:
    """Writes the text to the log instead of sending it (the default until a gateway is contracted)."""

    def send(self, *, to: str, body: str, reference: str) -> None:
        log.info("SMS to …%s [%s]: %s", to[-3:], reference, body)


def sms_channel() -> SmsChannel:
    return import_string(settings.CAREPATH_SMS_CHANNEL)()


def _message_id(dedupe_key: str) -> str:
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@carepath>"


def send(delivery: Delivery, connection=None) -> None:
    if delivery.channel == Channel.SMS:
        sms_channel().send(to=delivery.to, body=delivery.body, reference=delivery.dedupe_key)
        return
    # Headers from single-line values: a line break in a stored name (BadHeaderError) would otherwise
    # fail this message on every attempt into a dead letter (carepath/pathway/text.py).
    message = EmailMessage(
        subject=single_line(delivery.subject),
        body=delivery.body,
        to=[single_line(delivery.to)],
        connection=connection,
        headers={"Message-ID": _message_id(delivery.dedupe_key)},
    )
    message.send(fail_silently=False)


# --- delivering -----------------------------------------------------------------------------------
UNSENT = (DeliveryState.PENDING, DeliveryState.FAILED)
# Rows claimed at a time: one claim query and one mail connection per chunk; small enough that a
# chunk is sent well within half the lease even over a slow SMTP server.
DELIVERY_CHUNK = 100


def backoff(attempts: int, base_seconds: int | None = None) -> timedelta:
    base = settings.CAREPATH_DELIVERY_BACKOFF_SECONDS if base_seconds is None else base_seconds
    seconds = base * (2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))


def deliver(ids: list[int]) -> dict:
    """Claim these pending or failed deliveries in chunks and send each once; returns counts by outcome."""
    chunks = (ids[start : start + DELIVERY_CHUNK] for start in range(0, len(ids), DELIVERY_CHUNK))
    return send_claimed(_claim(chunk) for chunk in chunks)  # each chunk claimed just before it is sent


def send_claimed(claims: Iterable[Claim]) -> dict:
    """Send the rows of each claim over one mail connection; returns counts by outcome.

    Call it outside any transaction (a task, `manage.py tick`): each row is marked sent in its own
    autocommit statement right after its message has gone, so a sender killed mid-chunk loses at
    most the message in flight, never the record of the ones before it."""
    counts = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0}
    mail = get_connection()
    sent_notifications = []
    try:
        with connection.cursor() as cursor:
            mark_sent = _SentMarks(cursor)
            for claim in claims:
                counts["skipped"] += claim.skipped
                for outcome, notification_id in _send(claim, mail, mark_sent):
                    counts[outcome] += 1
                    if outcome == "sent" and notification_id:
                        sent_notifications.append(notification_id)
    finally:
        mail.close()
    if sent_notifications:
        Notification.objects.filter(pk__in=sent_notifications, email_sent_at__isnull=True).update(
            email_sent_at=timezone.now()
        )
    return counts


def _send(claim: Claim, mail, mark_sent: "_SentMarks") -> Iterator[tuple[str, int | None]]:
    for i, delivery in enumerate(claim.rows):
        if time.monotonic() > claim.deadline:
            release(claim.rows[i:], claim.token)
            yield from (("skipped", None) for _ in claim.rows[i:])
            return
        yield _deliver_one(delivery, mail, claim.token, mark_sent)


def _claim(ids: list[int]) -> Claim:
    fields = ("channel", "to", "subject", "body", "dedupe_key", "notification_id", "attempts")
    return claim_rows(Delivery, ids, max_attempts=settings.CAREPATH_DELIVERY_MAX_ATTEMPTS, fields=fields)


def claim_rows(model, ids: list[int], *, max_attempts: int, fields: tuple[str, ...]) -> Claim:
    """Take the rows of `model` nobody holds a live claim on (SKIP LOCKED: concurrent claimers never
    wait on each other); rows whose senders kept dying are dead-lettered instead."""
    claim = new_claim()
    with transaction.atomic():
        free = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=timezone.now()), pk__in=ids, state__in=UNSENT)
            .order_by()
            .values_list("pk", "attempts")
        )
        spent = {pk for pk, attempts in free if attempts >= max_attempts}
        if spent:
            model.objects.filter(pk__in=spent).update(
                state=DeliveryState.DEAD, claimed_until=None, last_error="gave up: the sender died on every attempt"
            )
            log.error("%s %s dead (%s): their senders died on every attempt", model.__name__, sorted(spent), len(spent))
        model.objects.filter(pk__in=[pk for pk, _ in free if pk not in spent]).update(
            claim_token=claim.token, claimed_until=claim.until, next_attempt_at=claim.until, attempts=F("attempts") + 1
        )
    claimed = model.objects.filter(pk__in=ids, claim_token=claim.token, state__in=UNSENT).order_by("pk")
    claim.rows = list(claimed.only(*fields))
    claim.skipped = len(ids) - len(claim.rows)
    return claim


def _reset(mail) -> None:
    """After a failed send the session may be dead: the next message opens a fresh one."""
    try:
        mail.close()
    except OSError:  # closing a broken SMTP session can fail too (smtplib errors are OSErrors); it is gone either way
        log.info("closing the mail connection after a failure failed as well", exc_info=True)


def release(rows: list[Delivery], token: str, model=Delivery) -> None:
    """Give back claimed rows we did not get to; the next tick queues them again."""
    model.objects.filter(pk__in=[d.pk for d in rows], claim_token=token, state__in=UNSENT).update(
        claimed_until=None, next_attempt_at=timezone.now(), attempts=F("attempts") - 1
    )


def _deliver_one(delivery: Delivery, mail, token: str, mark_sent: "_SentMarks") -> tuple[str, int | None]:
    try:
        mail.open()  # one SMTP session for the whole call (a no-op once open, and for other backends)
        send(delivery, mail)
    except Exception as exc:  # noqa: BLE001  any channel error (SMTP, gateway, bug): record it, back off, dead-letter after the last try
        _reset(mail)
        dead = record_failure(
            delivery, token, f"{type(exc).__name__}: {exc}", max_attempts=settings.CAREPATH_DELIVERY_MAX_ATTEMPTS
        )
        return ("dead" if dead else "failed"), None
    if not mark_sent(delivery.pk, token):
        log.error("delivery %s was sent after its claim had been taken over", delivery.pk)
    if delivery.dedupe_key.startswith(ONE_TIME):
        forget_addresses(delivery)
    return "sent", delivery.notification_id


# A dedupe key's prefix for a message whose body holds a one-time secret in an address.
ONE_TIME = "once:"
_ADDRESS = re.compile(r"https?://\S+")
FORGOTTEN = "[link removed once sent]"


def forget_addresses(delivery: Delivery) -> None:
    """Blank the addresses in the row's body (as loaded), keeping its words: what was said, not the secret."""
    Delivery.objects.filter(pk=delivery.pk).update(body=_ADDRESS.sub(FORGOTTEN, delivery.body))


def record_failure(row, token: str, error: str, *, max_attempts: int, base_seconds: int | None = None) -> bool:
    """Record a failed attempt on a claimed row (of any model with the claim columns): back off, or
    dead-letter it after the last attempt. Returns True when the row is dead."""
    dead = row.attempts >= max_attempts
    type(row).objects.filter(pk=row.pk, claim_token=token).update(
        state=DeliveryState.DEAD if dead else DeliveryState.FAILED,
        last_error=error[:2000],
        claimed_until=None,
        next_attempt_at=timezone.now() + backoff(row.attempts, base_seconds),
    )
    log.warning("%s %s failed (attempt %s): %s", type(row).__name__, row.pk, row.attempts, error[:2000])
    return dead


class _SentMarks:
    """Marks delivered rows sent: one single-row UPDATE each, committed at once (autocommit), all
    through the one cursor of a `send_claimed` call (a cursor per message cost a third of the mark's
    CPU). Written out because it runs once per message: the ORM's query building would cost more
    than the statement.

    On PostgreSQL a mark is committed without waiting for its WAL flush (docs/decisions.md, "Delivery
    marks"): the server has the mark before the next message goes, so a killed worker still never
    sends twice; only a crash of the database server may forget the last fraction of a second of
    marks. Inside a caller's transaction nothing changes: the setting would cover that commit too."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.relaxed = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.sql = _mark_sent_sql(self.relaxed)

    def __call__(self, pk: int, token: str) -> int:
        sent_at = _SENT_AT.get_db_prep_save(timezone.now(), connection)
        self.cursor.execute(self.sql, [DeliveryState.SENT.value, sent_at, pk, token])
        return self.cursor.rowcount


_SENT_AT = Delivery._meta.get_field("sent_at")


@lru_cache(maxsize=2)
def _mark_sent_sql(relaxed: bool) -> str:
    qn = connection.ops.quote_name
    # relaxed: one statement, its own implicit transaction; `set_config(…, true)` lasts until its commit
    relaxing = f" FROM {RELAXED}" if relaxed else ""
    return (
        f"UPDATE {qn(Delivery._meta.db_table)} SET {qn('state')} = %s, {qn('sent_at')} = %s{relaxing} "  # noqa: S608  our names; values are parameters
        f"WHERE {qn('id')} = %s AND {qn('claim_token')} = %s"
    )


def requeue_unsent(now: datetime, *, limit: int, batch: int, model=Delivery) -> Iterator[list[int]]:
    """Deliveries whose message may have been lost or whose retry is due, pushed forward one lease
    so the next tick does not queue them again while they wait in the broker."""
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(state__in=[DeliveryState.PENDING, DeliveryState.FAILED], next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        model.objects.filter(pk__in=ids).update(next_attempt_at=now + lease())
    for start in range(0, len(ids), batch):
        yield ids[start : start + batch]


def retry_dead(ids: list[int], *, actor, model=Delivery, send=None) -> int:
    """An admin sends dead letters again (after fixing an address or the mail server); `send` queues
    the rows once this has committed."""
    from carepath.models import AuditLog
    from carepath.pathway import audit

    with transaction.atomic():
        rows = list(model.objects.select_for_update().filter(pk__in=ids, state=DeliveryState.DEAD))
        model.objects.filter(pk__in=[d.pk for d in rows]).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        for delivery in rows:
            audit.record(actor, AuditLog.Action.UPDATE, delivery, {"state": "pending", "was": "dead"})
        (send or queue_delivery)([d.pk for d in rows])
    return len(rows)
