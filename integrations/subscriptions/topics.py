"""The subscription topics CarePath offers, and the R4 notification Bundles (Backport IG): a
`history` Bundle whose first entry is the SubscriptionStatus (`Parameters`), then, `id-only`, an entry
per focus with its full URL and no resource (docs/integrations.md, "FHIR Subscriptions")."""

import uuid
from dataclasses import dataclass

from django.utils import timezone

from integrations.events import absolute, iso
from integrations.outbox.models import Event, EventType

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
STATUS_PROFILE = f"{BACKPORT}/backport-subscription-status-r4"
SUBSCRIPTION_PROFILE = f"{BACKPORT}/backport-subscription"
PAYLOAD_CONTENT = f"{BACKPORT}/backport-payload-content"
HEARTBEAT_PERIOD = f"{BACKPORT}/backport-heartbeat-period"
TOPIC_BASE = "https://carepath.example.org/fhir/SubscriptionTopic"


@dataclass(frozen=True)
class Topic:
    url: str
    event_type: str
    title: str

    def focus(self, event: Event) -> str:
        """The ServiceRequest the event is about, as the FHIR export and the inbound API name it."""
        if self.event_type == EventType.MRI_REQUEST_TRANSITIONED:
            return f"ServiceRequest/mri-{event.mri_request_id}"
        return f"ServiceRequest/referral-{event.referral_id}"


TOPICS = {
    t.url: t
    for t in (
        Topic(f"{TOPIC_BASE}/referral-status", EventType.REFERRAL_TRANSITIONED, "A referral's status changed"),
        Topic(
            f"{TOPIC_BASE}/mri-request-status", EventType.MRI_REQUEST_TRANSITIONED, "An MRI request's status changed"
        ),
    )
}
BY_EVENT_TYPE = {t.event_type: t for t in TOPICS.values()}


def fhir_base() -> str:
    return absolute("/api/v1/fhir/")


def subscription_url(subscription) -> str:
    return f"{fhir_base()}Subscription/{subscription.pk}"


def status_parameters(subscription, kind: str, events: list[tuple[int, Event]] = ()) -> dict:
    """SubscriptionStatus as R4 `Parameters` (backport-subscription-status-r4). `events`: (event
    number, event) of the notification-events this message carries."""
    parameters = [
        {"name": "subscription", "valueReference": {"reference": subscription_url(subscription)}},
        {"name": "topic", "valueCanonical": subscription.topic},
        {"name": "status", "valueCode": subscription.status},
        {"name": "type", "valueCode": kind},
        # a string in R4: the count is an integer64 in R5
        {"name": "events-since-subscription-start", "valueString": str(subscription.events_since_start)},
    ]
    topic = TOPICS[subscription.topic]
    for number, event in events:
        parameters.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(number)},
                    {"name": "timestamp", "valueInstant": iso(event.occurred_at)},
                    {"name": "focus", "valueReference": {"reference": fhir_base() + topic.focus(event)}},
                ],
            }
        )
    return {"resourceType": "Parameters", "meta": {"profile": [STATUS_PROFILE]}, "parameter": parameters}


def notification(subscription, kind: str, events: list[tuple[int, Event]] = ()) -> dict:
    """An R4 notification Bundle: `history`, the SubscriptionStatus first, then the foci (id-only)."""
    status = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": status_parameters(subscription, kind, events),
        "request": {"method": "GET", "url": f"{subscription_url(subscription)}/$status"},
        "response": {"status": "200"},
    }
    topic = TOPICS[subscription.topic]
    foci = [
        {
            "fullUrl": fhir_base() + topic.focus(event),
            "request": {"method": "PUT", "url": topic.focus(event)},
            "response": {"status": "200"},
        }
        for _, event in events
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": iso(timezone.now()),
        "entry": [status, *foci],
    }


def status_bundle(subscription) -> dict:
    """`$status`: a searchset Bundle with the SubscriptionStatus (type `query-status`)."""
    entry = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": status_parameters(subscription, "query-status"),
        "search": {"mode": "match"},
    }
    return {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [entry]}
