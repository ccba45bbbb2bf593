"""The webhooks' outbox consumer: a delivery per active endpoint that asked for the event's type,
written by the relay once the change has committed (integrations/outbox/relay.py), then sent."""

import json
from datetime import datetime

from django.db.models import BigIntegerField, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from carepath.db import bulk
from carepath.notify.delivery import lease
from integrations import events as events_
from integrations.outbox.models import DeliveryKind, Event, OutboundDelivery
from integrations.webhooks.models import WebhookEndpoint


def lane(endpoint_id: int, event: Event) -> str:
    return f"webhook:{endpoint_id}:case:{event.referral_id}" if event.referral_id else ""


def listening(now: datetime) -> QuerySet:
    """The active endpoints, each with the event types it asked for (JSON text)."""
    return WebhookEndpoint.objects.filter(active=True).annotate(
        wants=Cast("event_types", TextField()), whose=Value(None, output_field=BigIntegerField())
    )


def deliveries_for(events: list[Event], endpoints: list[dict]) -> int:
    """A delivery per event and active endpoint that asked for its type: one INSERT, in the relay's
    transaction."""
    wanted = [(e["pk"], set(json.loads(e["wants"]))) for e in endpoints]
    now = timezone.now()
    rows = []
    for event in events:
        body = None
        for pk, types in wanted:
            if event.type not in types:
                continue
            body = body or json.dumps(events_.thin_payload(event), separators=(",", ":"))
            rows.append(
                OutboundDelivery(
                    kind=DeliveryKind.WEBHOOK,
                    event_id=event.pk,
                    endpoint_id=pk,
                    lane=lane(pk, event),
                    body=body,
                    created_at=now,
                    # tick re-queues it after a lease if the relay's message is lost
                    next_attempt_at=now + lease(),
                )
            )
    bulk.insert_later(rows)
    return len(rows)


CONSUMER = events_.Consumer(name="webhook", listening=listening, write=deliveries_for)
