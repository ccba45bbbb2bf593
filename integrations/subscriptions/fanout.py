"""The FHIR subscriptions' outbox consumer and senders: an event-notification per event of a
subscription's topic about a case its owner may see, numbered in the subscription's own sequence
(`events-since-subscription-start`) in the change's transaction; the handshake on create and the
heartbeats written by `integrations.tick`."""

import json

from django.db.models import F
from django.utils import timezone

from carepath.db import bulk
from carepath.notify.delivery import lease
from integrations.outbox.models import DeliveryKind, Event, OutboundDelivery
from integrations.subscriptions import topics
from integrations.subscriptions.models import FhirSubscription, SubscriptionStatus
from referrals.selectors import referrals_visible_to


def live(now=None):
    now = now or timezone.now()
    return FhirSubscription.objects.filter(status=SubscriptionStatus.ACTIVE).exclude(end__lte=now)


def notifications_for(events: list[Event]) -> int:
    relevant = [e for e in events if e.type in topics.BY_EVENT_TYPE and e.referral_id]
    if not relevant:
        return 0
    wanted = {topics.BY_EVENT_TYPE[e.type].url for e in relevant}
    # locked in id order: the numbering of each subscription's events is one sequence, no gaps
    subscriptions = list(live().select_for_update().filter(topic__in=wanted).select_related("owner").order_by("pk"))
    rows = []
    for subscription in subscriptions:
        cases = {e.referral_id for e in relevant}
        visible = set(referrals_visible_to(subscription.owner).filter(pk__in=cases).values_list("pk", flat=True))
        topic = topics.TOPICS[subscription.topic]
        mine = [e for e in relevant if e.type == topic.event_type and e.referral_id in visible]
        for event in mine:
            subscription.events_since_start += 1
            bundle = topics.notification(subscription, "event-notification", [(subscription.events_since_start, event)])
            rows.append(_row(DeliveryKind.FHIR_EVENT, subscription, bundle, event=event))
        if mine:
            FhirSubscription.objects.filter(pk=subscription.pk).update(
                events_since_start=F("events_since_start") + len(mine)
            )
    bulk.insert_later(rows)
    return len(rows)


def _row(kind: str, subscription, bundle: dict, *, event: Event | None = None) -> OutboundDelivery:
    now = timezone.now()
    return OutboundDelivery(
        kind=kind,
        event_id=event.pk if event else None,
        subscription_id=subscription.pk,
        lane=f"fhir:{subscription.pk}:case:{event.referral_id}" if event else "",
        body=json.dumps(bundle, separators=(",", ":")),
        created_at=now,
        next_attempt_at=now + lease(),
    )


def handshake(subscription) -> OutboundDelivery:
    row = _row(DeliveryKind.FHIR_HANDSHAKE, subscription, topics.notification(subscription, "handshake"))
    row.save()
    return row


def heartbeats(now=None) -> list[int]:
    """Heartbeats of the subscriptions idle for their heartbeatPeriod (`integrations.tick`)."""
    now = now or timezone.now()
    due = live(now).filter(heartbeat_period__gt=0, next_heartbeat_at__lte=now).select_for_update(skip_locked=True)
    ids = []
    for subscription in due:
        row = _row(DeliveryKind.FHIR_HEARTBEAT, subscription, topics.notification(subscription, "heartbeat"))
        row.save()
        ids.append(row.pk)
        FhirSubscription.objects.filter(pk=subscription.pk).update(
            next_heartbeat_at=now + timezone.timedelta(seconds=subscription.heartbeat_period)
        )
    return ids
