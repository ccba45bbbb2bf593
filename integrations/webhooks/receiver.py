"""How a webhook delivery is sent: to its endpoint's URL, signed with its secret (Standard Webhooks);
a 410 Gone disables the endpoint and dead-letters its unsent deliveries."""

import json
import time

from django.db import transaction

from integrations.outbox import sending
from integrations.outbox.models import DeliveryKind, OutboundDelivery
from integrations.webhooks import signing
from integrations.webhooks.models import WebhookEndpoint


def prepare(row: OutboundDelivery, chunk: sending.Chunk) -> tuple[str, dict] | None:
    """The endpoint's URL and the message's signed headers, signed now; None if the endpoint is off.
    The active endpoints of the chunk's rows are read once for the chunk."""
    if "webhooks" not in chunk.memo:
        wanted = {r.endpoint_id for r in chunk.rows if r.kind == DeliveryKind.WEBHOOK}
        active = WebhookEndpoint.objects.filter(pk__in=wanted, active=True).values_list("pk", "url", "secret")
        chunk.memo["webhooks"] = {pk: (url, secret) for pk, url, secret in active}
    endpoint = chunk.memo["webhooks"].get(row.endpoint_id)
    if endpoint is None:
        return None
    url, secret = endpoint
    msg_id = json.loads(row.body)["data"]["id"]  # the event's public id, as the payload gives it
    headers = signing.headers(secret, msg_id, int(time.time()), row.body)
    return url, {"Content-Type": "application/json", "User-Agent": "CarePath-Webhooks/1", **headers}


def gone(row: OutboundDelivery, reason: str) -> None:
    disable(row.endpoint_id, reason)


def disable(endpoint_id: int, reason: str) -> None:
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(active=False, disabled_reason=reason[:200])
        sending.kill_unsent(OutboundDelivery.objects.filter(endpoint_id=endpoint_id), f"endpoint disabled: {reason}")


def install() -> None:
    sending.register(DeliveryKind.WEBHOOK, sending.Receiver(prepare=prepare, gone=gone))
