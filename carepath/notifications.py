"""Notifications and their delivery (DESIGN.md §4).

In-app: a `Notification` row per user, unique `dedupe_key`. E-mail (staff) and e-mail/SMS
(families): a `Delivery` row per message, unique `dedupe_key`, sent by `deliver`:

- each row is sent under its own row lock (SELECT … FOR UPDATE SKIP LOCKED) and marked sent in the
  same transaction, so a killed worker's lock dies with its connection and the row is simply still
  pending; a redelivered task skips rows that are sent or being sent;
- a failure is recorded on the row with a back-off (`DELIVERY_BACKOFF_SECONDS` × 2^attempts, ±25 %
  jitter); after `DELIVERY_MAX_ATTEMPTS` the row is `dead` (visible in the admin) and the batch
  moves on;
- the e-mail's Message-ID is derived from the dedupe key, so in the one window we cannot close (the
  server accepted the message and the worker died before commit) the copy is recognisable.

E-mails carry the minimum necessary: the child's initials, the case reference and a link; details
only after sign-in.
"""

import hashlib
import logging
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Channel, Delivery, DeliveryState, Notification, Timer, TimerKind

log = logging.getLogger(__name__)


# --- content --------------------------------------------------------------------------------------
def case_link(referral_id: int) -> str:
    return f"{settings.CAREPATH_BASE_URL.rstrip('/')}/cases/{referral_id}/"


def reference(referral_id: int) -> str:
    return f"CP-{referral_id:06d}"


def local(dt: datetime | None, tz_name: str = "") -> datetime | None:
    return timezone.localtime(dt, ZoneInfo(tz_name or settings.TIME_ZONE)) if dt else None


def render_staff(timer: Timer, *, now: datetime) -> tuple[str, str]:
    item = timer.work_item
    patient = timer.referral.patient
    context = {
        "step": item.get_kind_display(),
        "reference": reference(timer.referral_id),
        "initials": patient.initials,
        "due_at": local(item.due_at),
        "level": timer.data.get("level", 1),
        "hours_before": timer.data.get("hours_before"),
        "link": case_link(timer.referral_id),
        "note": item.note if item.kind != "critical_result_ack" else "",
    }
    name = {TimerKind.REMINDER: "reminder", TimerKind.ESCALATION: "escalation", TimerKind.ALERT: "alert"}[timer.kind]
    text = render_to_string(f"email/staff_{name}.txt", context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip()[:200], body.strip()


# --- creating rows --------------------------------------------------------------------------------
def _lease() -> timedelta:
    return timedelta(seconds=settings.CAREPATH_DELIVERY_LEASE_SECONDS)


def create(rows: list[Notification], *, now: datetime) -> list[int]:
    """Insert notifications (a key seen before is skipped) and an e-mail delivery for each recipient
    with an address; returns the ids of pending deliveries, to send after commit."""
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    ids = dict(Notification.objects.filter(dedupe_key__in=[n.dedupe_key for n in rows]).values_list("dedupe_key", "id"))
    deliveries = [
        Delivery(
            dedupe_key=f"email:{n.dedupe_key}",
            channel=Channel.EMAIL,
            to=n.recipient.email,
            subject=n.subject,
            body=f"{n.body}\n\n{n.link}".strip(),
            notification_id=ids[n.dedupe_key],
            referral_id=n.referral_id,
            created_at=now,
            next_attempt_at=now + _lease(),
        )
        for n in rows
        if n.recipient.email and n.recipient.is_active
    ]
    return add_deliveries(deliveries)


def add_deliveries(deliveries: list[Delivery]) -> list[int]:
    if not deliveries:
        return []
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    keys = [d.dedupe_key for d in deliveries]
    return list(Delivery.objects.filter(dedupe_key__in=keys, state=DeliveryState.PENDING).values_list("id", flat=True))


def notify(
    users,
    *,
    kind: str,
    referral_id: int,
    subject: str,
    body: str,
    dedupe_prefix: str,
    work_item=None,
    now: datetime | None = None,
) -> list[int]:
    """Tell these users something now (used by event-driven tasks); queues the e-mails on commit."""
    now = now or timezone.now()
    rows = [
        Notification(
            recipient=u,
            referral_id=referral_id,
            work_item=work_item,
            kind=kind,
            subject=subject[:200],
            body=body,
            link=case_link(referral_id),
            dedupe_key=f"{dedupe_prefix}:user:{u.pk}",
            created_at=now,
        )
        for u in users
    ]
    with transaction.atomic():
        ids = create(rows, now=now)
        queue_delivery(ids)
    return ids


def queue_delivery(ids: list[int]) -> None:
    from .timers import in_sync_sweep

    if ids and not in_sync_sweep():
        from .tasks import deliver

        transaction.on_commit(lambda: deliver.delay(ids))


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
    message = EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        to=[delivery.to],
        connection=connection,
        headers={"Message-ID": _message_id(delivery.dedupe_key)},
    )
    message.send(fail_silently=False)


# --- delivering -----------------------------------------------------------------------------------
def backoff(attempts: int) -> timedelta:
    seconds = settings.CAREPATH_DELIVERY_BACKOFF_SECONDS * (2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))


def deliver(ids: list[int]) -> dict:
    """Send each pending or failed delivery once; returns counts by outcome."""
    counts = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0}
    connection = get_connection()
    sent_notifications = []
    for pk in ids:
        outcome, notification_id = _deliver_one(pk, connection)
        counts[outcome] += 1
        if outcome == "sent" and notification_id:
            sent_notifications.append(notification_id)
    if sent_notifications:
        Notification.objects.filter(pk__in=sent_notifications, email_sent_at__isnull=True).update(
            email_sent_at=timezone.now()
        )
    return counts


def _deliver_one(pk: int, connection) -> tuple[str, int | None]:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, state__in=[DeliveryState.PENDING, DeliveryState.FAILED])
            .first()
        )
        if delivery is None:  # sent, dead, or another worker holds it right now
            return "skipped", None
        now = timezone.now()
        delivery.attempts += 1
        try:
            send(delivery, connection)
        except Exception as exc:  # noqa: BLE001  any channel error (SMTP, gateway, bug): record it, back off, dead-letter after the last try
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            dead = delivery.attempts >= settings.CAREPATH_DELIVERY_MAX_ATTEMPTS
            delivery.state = DeliveryState.DEAD if dead else DeliveryState.FAILED
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
            log.warning("delivery %s failed (attempt %s): %s", pk, delivery.attempts, delivery.last_error)
            return ("dead" if dead else "failed"), None
        delivery.state, delivery.sent_at = DeliveryState.SENT, now
        delivery.save(update_fields=["attempts", "state", "sent_at"])
        return "sent", delivery.notification_id


def requeue_unsent(now: datetime, *, limit: int, batch: int) -> Iterator[list[int]]:
    """Deliveries whose message may have been lost or whose retry is due, pushed forward one lease
    so the next tick does not queue them again while they wait in the broker."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(state__in=[DeliveryState.PENDING, DeliveryState.FAILED], next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now + _lease())
    for start in range(0, len(ids), batch):
        yield ids[start : start + batch]


def retry_dead(ids: list[int], *, actor) -> int:
    """An admin sends dead letters again (after fixing an address or the mail server)."""
    from . import audit
    from .models import AuditLog

    with transaction.atomic():
        rows = list(Delivery.objects.select_for_update().filter(pk__in=ids, state=DeliveryState.DEAD))
        Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        for delivery in rows:
            audit.record(actor, AuditLog.Action.UPDATE, delivery, {"state": "pending", "was": "dead"})
        queue_delivery([d.pk for d in rows])
    return len(rows)
