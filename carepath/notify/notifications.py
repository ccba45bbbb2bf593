"""Notifications (docs/design.md §4): what a step's reminders, escalations and alerts say, and the rows
that carry it.

In-app: a `Notification` row per user, unique `dedupe_key`. E-mail (staff) and e-mail/SMS
(families): a `Delivery` row per message, unique `dedupe_key`, sent by `carepath.notify.delivery`, which
sends each at most once however workers die.

Message texts come from templates rendered once per shape (`carepath.notify.message_templates`).

E-mails carry the minimum necessary: the child's initials, the case reference and a link; details
only after sign-in.
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from carepath.db import bulk
from carepath.models import (
    CaseClock,
    Channel,
    Delivery,
    DeliveryState,
    Notification,
    Timer,
    TimerKind,
    WorkItemKind,
    case_reference,
)
from carepath.notify.delivery import Claim, lease, queue_delivery
from carepath.notify.message_templates import duration_words, render_text
from carepath.pathway import case_clock, registry

log = logging.getLogger(__name__)


# --- content --------------------------------------------------------------------------------------
def case_link(referral_id: int) -> str:
    return f"{settings.CAREPATH_BASE_URL.rstrip('/')}/cases/{referral_id}/"


def step(kind: str) -> str:
    """A work item kind as staff read it: `get_kind_display()` rebuilds the choices dict on every call,
    and this runs twice per message (the text and the timeline)."""
    return str(_STEPS.get(kind, kind))


_STEPS = {**dict(WorkItemKind.choices), **dict(CaseClock.choices)}


def local(dt: datetime | None, tz_name: str = "") -> datetime | None:
    return timezone.localtime(dt, ZoneInfo(tz_name or settings.TIME_ZONE)) if dt else None


STAFF_TEMPLATES = {
    TimerKind.REMINDER: "email/staff_reminder.txt",
    TimerKind.ESCALATION: "email/staff_escalation.txt",
    TimerKind.ALERT: "email/staff_alert.txt",
    TimerKind.CLOCK_REMINDER: "email/case_clock_reminder.txt",
    TimerKind.CLOCK_ESCALATION: "email/case_clock_escalation.txt",
}


def render_staff(timer: Timer, *, now: datetime) -> tuple[str, str]:
    item = case_clock.target(timer)
    fixed = {"step": step(item.kind), "level": timer.data.get("level", 1)}
    varying = {
        "reference": case_reference(timer.referral_id),
        "initials": timer.referral.patient.initials,
        "due_at": local(item.due_at),
        "link": case_link(timer.referral_id),
        "note": item.note if item.kind != "critical_result_ack" else "",
        **time_left(item.due_at, now),
    }
    subject, _, body = render_text(STAFF_TEMPLATES[timer.kind], fixed=fixed, varying=varying).partition("\n")
    return subject.strip()[:200], body.strip()


def time_left(due_at: datetime | None, now: datetime) -> dict:
    """{"left": "3 hours", "overdue": ""} or {"left": "", "overdue": "2 days"}, from the deadline and
    the time the message is sent, never from the lead time the timer was scheduled with: a reminder a
    late sweep sends must not say "in about 24 hours" when 2 are left (docs/timers.md)."""
    if due_at is None:
        return {"left": "", "overdue": ""}
    if due_at > now:
        return {"left": duration_words(due_at - now), "overdue": ""}
    return {"left": "", "overdue": duration_words(now - due_at)}


# --- creating rows --------------------------------------------------------------------------------
def create(rows: list[Notification], *, now: datetime) -> list[Delivery]:
    """Insert notifications (a key seen before is skipped); returns an unsaved e-mail delivery for
    each new one whose recipient has an address, for the caller to write (`add_deliveries` or
    `add_claimed`)."""
    ids = bulk.insert(rows, key="dedupe_key")
    new = [(n, ids[n.dedupe_key]) for n in rows if n.dedupe_key in ids]
    if new:  # the outbox (integrations/events.py), in this transaction
        registry.announce("notifications", notifications=new)
    return [
        Delivery(
            dedupe_key=f"email:{n.dedupe_key}",
            channel=Channel.EMAIL,
            to=n.recipient.email,
            subject=n.subject,
            body=f"{n.body}\n\n{n.link}".strip(),
            notification_id=ids[n.dedupe_key],
            referral_id=n.referral_id,
            created_at=now,
            next_attempt_at=now + lease(),
        )
        for n in rows
        if n.dedupe_key in ids and n.recipient.email and n.recipient.is_active
    ]


def add_deliveries(deliveries: list[Delivery]) -> list[int]:
    """Write deliveries for whoever claims them (a `deliver` task); returns the ids still pending."""
    if not deliveries:
        return []
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    keys = [d.dedupe_key for d in deliveries]
    return list(Delivery.objects.filter(dedupe_key__in=keys, state=DeliveryState.PENDING).values_list("id", flat=True))


def add_claimed(deliveries: list[Delivery], claim: Claim) -> list[Delivery]:
    """Write deliveries already claimed by `claim`, so the process writing them sends them right after
    commit without a second write to claim them; returns the rows written (a key seen before is
    skipped: that row keeps its own state and `tick` re-queues it if it is unsent)."""
    for d in deliveries:
        d.claim_token, d.claimed_until, d.next_attempt_at, d.attempts = claim.token, claim.until, claim.until, 1
    ids = bulk.insert(deliveries, key="dedupe_key")
    for d in deliveries:
        d.pk = ids.get(d.dedupe_key)
    return [d for d in deliveries if d.pk is not None]


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
    email_body: str | None = None,
) -> list[int]:
    """Tell these users something now (used by event-driven tasks and services); queues the e-mails
    on commit. `email_body` replaces the e-mail's text when it must say less than the in-app one."""
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
        deliveries = create(rows, now=now)
        if email_body is not None:
            for d in deliveries:
                d.body = email_body
        ids = add_deliveries(deliveries)
        queue_delivery(ids)
    return ids


# --- the referrer's closed loop (docs/decisions.md, "The referrer is always told") ----------------
def referrer_of(referral):
    """Who referred the child: the referring pediatrician, else (an EHR client that named nobody)
    the sender, which reads its notifications through the API. None if they are inactive."""
    user = referral.referred_by if referral.referred_by_id else referral.created_by
    return user if user is not None and user.is_active else None


def tell_referrer(referral, *, event: str, key: str, context: dict | None = None) -> list[int]:
    """One in-app notification and one e-mail to the case's referrer about `event`, written in the
    caller's transaction (so it exists exactly when the change it reports committed); `key` names
    the change (a referral's or MRI request's new version), so a retried service or task that
    writes the same change again adds nothing. Template `email/referrer_<event>.txt`: the subject
    line, then the text, rendered once for the app and once (`email`: minimum necessary, no
    clinical free text) for the e-mail."""
    referrer = referrer_of(referral)
    if referrer is None:
        return []
    values = {
        "reference": case_reference(referral.pk),
        "initials": referral.patient.initials,
        "link": case_link(referral.pk),
        "time_zone": settings.TIME_ZONE,
        **(context or {}),
    }
    template = f"email/referrer_{event}.txt"
    subject, _, body = render_to_string(template, {**values, "email": False}).strip().partition("\n")
    _, _, email_body = render_to_string(template, {**values, "email": True}).strip().partition("\n")
    return notify(
        [referrer],
        kind=f"referrer_{event}",
        referral_id=referral.pk,
        subject=subject.strip(),
        body=body.strip(),
        email_body=email_body.strip(),
        dedupe_prefix=f"referrer:{key}",
    )
