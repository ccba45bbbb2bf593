"""How a webhook delivery is sent: to its endpoint's URL, signed with its secret (Standard Webhooks);
a 410 Gone disables the endpoint and dead-letters its unsent deliveries."""

import time

from django.db import transaction

from integrations.outbox import sending
from integrations.outbox.models import DeliveryKind, Event, OutboundDelivery
from integrations.webhooks import signing
from integrations.webhooks.models import WebhookEndpoint


def prepare(row: OutboundDelivery) -> tuple[str, dict] | None:
    endpoint = WebhookEndpoint.objects.filter(pk=row.endpoint_id, active=True).only("url", "secret").first()
    if endpoint is None:
        return None
    msg_id = Event.objects.values_list("uid", flat=True).get(pk=row.event_id).hex
    headers = signing.headers(endpoint.secret, f"evt_{msg_id}", int(time.time()), row.body)
    return endpoint.url, {"Content-Type": "application/json", "User-Agent": "CarePath-Webhooks/1", **headers}


def gone(row: OutboundDelivery, reason: str) -> None:
    disable(row.endpoint_id, reason)


def disable(endpoint_id: int, reason: str) -> None:
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(active=False, disabled_reason=reason[:200])
        sending.kill_unsent(OutboundDelivery.objects.filter(endpoint_id=endpoint_id), f"endpoint disabled: {reason}")


def install() -> None:
    sending.register(DeliveryKind.WEBHOOK, sending.Receiver(prepare=prepare, gone=gone))
