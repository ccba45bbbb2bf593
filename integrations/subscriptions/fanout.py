"""The FHIR subscriptions' outbox consumer and senders: an event-notification per event of a
subscription's topic about a case its owner may see, written by the relay once the change has committed,
without its text; numbered in the subscription's own sequence (`events-since-subscription-start`) once committed,
by the sender (`number_rows`), under the subscription's row lock, so no transition ever waits for another
on a subscription; the handshake on create and the heartbeats written by `integrations.tick`."""

import json
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from carepath.db import bulk
from carepath.notify.delivery import lease
from integrations import events as events_
from integrations.outbox import sending
from integrations.outbox.models import DeliveryKind, Event, OutboundDelivery
from integrations.subscriptions import topics
from integrations.subscriptions.models import FhirSubscription, SubscriptionStatus
from referrals.selectors import referrals_visible_to


def live(now=None):
    now = now or timezone.now()
    return FhirSubscription.objects.filter(status=SubscriptionStatus.ACTIVE).exclude(end__lte=now)


def listening(now: datetime) -> QuerySet:
    """The live subscriptions, each with its topic and owner."""
    return FhirSubscription.objects.filter(
        Q(end__isnull=True) | Q(end__gt=now), status=SubscriptionStatus.ACTIVE
    ).annotate(wants=F("topic"), whose=F("owner_id"))


def notifications_for(events: list[Event], subscriptions: list[dict]) -> int:
    """A row per event and live subscription of its topic whose owner may see the case (the relay's
    transaction); its body (the notification, with the event's number) is written by the sender
    (`number_rows`)."""
    relevant = [e for e in events if e.type in topics.BY_EVENT_TYPE and e.referral_id]
    mine = [s for s in subscriptions if any(topics.BY_EVENT_TYPE[e.type].url == s["wants"] for e in relevant)]
    if not mine:
        return 0
    owners = get_user_model().objects.in_bulk({s["whose"] for s in mine})
    cases = {e.referral_id for e in relevant}
    rows = []
    for subscription in sorted(mine, key=lambda s: s["pk"]):
        visible = set(
            referrals_visible_to(owners[subscription["whose"]]).filter(pk__in=cases).values_list("pk", flat=True)
        )
        event_type = topics.TOPICS[subscription["wants"]].event_type
        for event in (e for e in relevant if e.type == event_type and e.referral_id in visible):
            rows.append(_row(DeliveryKind.FHIR_EVENT, subscription["pk"], "", event=event))
    bulk.insert_later(rows)
    return len(rows)


CONSUMER = events_.Consumer(name="fhir-subscription", listening=listening, write=notifications_for)


def _row(kind: str, subscription_id: int, body: str, *, event: Event | None = None) -> OutboundDelivery:
    now = timezone.now()
    return OutboundDelivery(
        kind=kind,
        event_id=event.pk if event else None,
        subscription_id=subscription_id,
        lane=f"fhir:{subscription_id}:case:{event.referral_id}" if event else "",
        body=body,
        created_at=now,
        next_attempt_at=now + lease(),
    )


def _message(kind: str, subscription) -> OutboundDelivery:
    bundle = topics.notification(subscription, kind)
    return _row(f"fhir-{kind}", subscription.pk, json.dumps(bundle, separators=(",", ":")))


# --- numbering, after the commit -----------------------------------------------------------------
def unnumbered(subscription_id: int) -> QuerySet:
    """Its event notifications written (committed) but not numbered yet; a dead one (the subscription
    was turned off) is never numbered."""
    return OutboundDelivery.objects.filter(
        subscription_id=subscription_id, kind=DeliveryKind.FHIR_EVENT, body="", state__in=sending.UNSENT
    )


def number_rows(ids: list[int]) -> None:
    """Number the subscriptions' waiting event notifications among `ids` (the sender's hook)."""
    waiting = OutboundDelivery.objects.filter(pk__in=ids, kind=DeliveryKind.FHIR_EVENT, body="")
    for subscription_id in sorted(set(waiting.values_list("subscription_id", flat=True))):
        with transaction.atomic():
            # FOR NO KEY UPDATE: a transition writing a row for it checks its key (FOR KEY SHARE) unhindered
            subscription = FhirSubscription.objects.select_for_update(no_key=True).filter(pk=subscription_id).first()
            if subscription is not None:
                _number_locked(subscription)


def _number_locked(subscription: FhirSubscription) -> None:
    """Give every unnumbered event notification of the subscription (we hold its row) the next number,
    in the order they were written, and its text: gapless, and in each case's order (a case's
    transitions commit one after the other)."""
    rows = list(unnumbered(subscription.pk).select_related("event").order_by("id"))
    if not rows:
        return
    for row in rows:
        subscription.events_since_start += 1
        bundle = topics.notification(subscription, "event-notification", [(subscription.events_since_start, row.event)])
        row.body = json.dumps(bundle, separators=(",", ":"))
    OutboundDelivery.objects.bulk_update(rows, ["body"])
    FhirSubscription.objects.filter(pk=subscription.pk).update(events_since_start=subscription.events_since_start)


def events_since_start(subscription: FhirSubscription) -> int:
    """`events-since-subscription-start` now: those numbered, those waiting for their number and the
    events of its topic about cases its owner may see that the relay has not fanned out yet (it will
    write their rows for this subscription)."""
    return subscription.events_since_start + unnumbered(subscription.pk).count() + unrelayed(subscription).count()


def unrelayed(subscription: FhirSubscription) -> QuerySet:
    topic = topics.TOPICS.get(subscription.topic)
    if topic is None or subscription.status != SubscriptionStatus.ACTIVE:
        return Event.objects.none()
    return Event.objects.filter(
        fanned_out_at__isnull=True,
        type=topic.event_type,
        referral_id__in=referrals_visible_to(subscription.owner).values("pk"),
    )


# --- handshake and heartbeats --------------------------------------------------------------------
def handshake(subscription) -> OutboundDelivery:
    row = _message("handshake", subscription)
    row.save()
    return row


def heartbeats(now=None) -> list[int]:
    """Heartbeats of the subscriptions idle for their heartbeatPeriod (`integrations.tick`)."""
    now = now or timezone.now()
    due = live(now).filter(heartbeat_period__gt=0, next_heartbeat_at__lte=now)
    due = due.select_for_update(skip_locked=True, no_key=True)  # as `number_rows`: transitions do not wait
    ids = []
    for subscription in due:
        _number_locked(subscription)  # its count is that of every event written so far
        row = _message("heartbeat", subscription)
        row.save()
        ids.append(row.pk)
        FhirSubscription.objects.filter(pk=subscription.pk).update(
            next_heartbeat_at=now + timezone.timedelta(seconds=subscription.heartbeat_period)
        )
    return ids
