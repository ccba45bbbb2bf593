"""How FHIR notifications are sent: to the subscription's rest-hook endpoint as
`application/fhir+json` with its `channel.header`s. A handshake answered 2xx makes the subscription
active (dead: `error`); any message sent restarts the heartbeat period; 410 Gone turns it off."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations.outbox import sending
from integrations.outbox.models import DeliveryKind, OutboundDelivery
from integrations.subscriptions.models import FhirSubscription, SubscriptionStatus

FHIR_JSON = "application/fhir+json"


def prepare(row: OutboundDelivery, chunk: sending.Chunk) -> tuple[str, dict] | None:
    subscription = FhirSubscription.objects.filter(pk=row.subscription_id).first()
    allowed = (
        (SubscriptionStatus.REQUESTED,) if row.kind == DeliveryKind.FHIR_HANDSHAKE else (SubscriptionStatus.ACTIVE,)
    )
    if subscription is None or subscription.status not in allowed:
        return None
    headers = {"Content-Type": FHIR_JSON, "User-Agent": "CarePath-FHIR-Subscriptions/1"}
    for line in subscription.headers:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return subscription.endpoint, headers


def gone(row: OutboundDelivery, reason: str) -> None:
    with transaction.atomic():
        FhirSubscription.objects.filter(pk=row.subscription_id).update(status=SubscriptionStatus.OFF, error=reason)
        sending.kill_unsent(
            OutboundDelivery.objects.filter(subscription_id=row.subscription_id), f"subscription off: {reason}"
        )


def done(row: OutboundDelivery, outcome: str) -> None:
    subscription = FhirSubscription.objects.filter(pk=row.subscription_id).first()
    if subscription is None:
        return
    now = timezone.now()
    changes = {}
    if row.kind == DeliveryKind.FHIR_HANDSHAKE and subscription.status == SubscriptionStatus.REQUESTED:
        if outcome == "sent":
            changes["status"] = SubscriptionStatus.ACTIVE
        else:
            changes.update(status=SubscriptionStatus.ERROR, error="the handshake was not answered 2xx")
    if outcome == "sent" and subscription.heartbeat_period:
        changes["next_heartbeat_at"] = now + timedelta(seconds=subscription.heartbeat_period)
    if changes:
        FhirSubscription.objects.filter(pk=subscription.pk).update(**changes)


def install() -> None:
    from integrations.subscriptions.fanout import number_rows

    receiver = sending.Receiver(prepare=prepare, gone=gone, done=done, ready=number_rows)
    for kind in (DeliveryKind.FHIR_EVENT, DeliveryKind.FHIR_HANDSHAKE, DeliveryKind.FHIR_HEARTBEAT):
        sending.register(kind, receiver)
