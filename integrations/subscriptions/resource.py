"""The R4 `Subscription` resource (Backport IG profile) read from a client and written back. What
CarePath does not offer is refused naming the element (an OperationOutcome, 422)."""

from datetime import datetime

from django.utils.dateparse import parse_datetime

from integrations.events import iso
from integrations.fhir_in.outcome import FhirProblem
from integrations.subscriptions import topics

MIN_HEARTBEAT = 60  # seconds: a shorter period would be a poll, not a heartbeat


def _refuse(expression: str, message: str, code: str = "value"):
    raise FhirProblem(422, [(expression, message, code)])


def _extension(node: dict, url: str) -> dict | None:
    return next((e for e in node.get("extension") or [] if e.get("url") == url), None)


def read(resource) -> dict:
    """The fields of a new `FhirSubscription` from a client's resource."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise FhirProblem(400, [("", "Send a FHIR R4 Subscription resource.", "structure")])
    topic = resource.get("criteria")
    if topic not in topics.TOPICS:
        _refuse("Subscription.criteria", f"Unknown topic; CarePath offers: {', '.join(sorted(topics.TOPICS))}.")
    channel = resource.get("channel")
    if not isinstance(channel, dict):
        _refuse("Subscription.channel", "A channel is required.", "required")
    if channel.get("type") != "rest-hook":
        _refuse("Subscription.channel.type", "Only rest-hook channels are offered.")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")) or len(endpoint) > 500:
        _refuse("Subscription.channel.endpoint", "An http(s) URL of at most 500 characters is required.", "required")
    if channel.get("payload", "application/fhir+json") != "application/fhir+json":
        _refuse("Subscription.channel.payload", "Only application/fhir+json is offered.")
    content = _extension(channel.get("_payload") or {}, topics.PAYLOAD_CONTENT)
    if content and content.get("valueCode") != "id-only":
        _refuse(f"Subscription.channel.payload.extension('{topics.PAYLOAD_CONTENT}')", "Only id-only is offered.")
    return {
        "topic": topic,
        "endpoint": endpoint,
        "headers": _headers(channel.get("header") or []),
        "heartbeat_period": _heartbeat(channel),
        "reason": str(resource.get("reason") or "")[:200],
        "end": _end(resource.get("end")),
    }


def _headers(headers) -> list[str]:
    if not isinstance(headers, list) or not all(isinstance(h, str) and ":" in h and len(h) < 2000 for h in headers):
        _refuse("Subscription.channel.header", "Each header is a string 'Name: value'.")
    if any("\n" in h or "\r" in h for h in headers):
        _refuse("Subscription.channel.header", "A header is one line.")
    return headers


def _heartbeat(channel: dict) -> int:
    found = _extension(channel, topics.HEARTBEAT_PERIOD)
    if found is None:
        return 0
    period = found.get("valueUnsignedInt")
    if not isinstance(period, int) or isinstance(period, bool) or not MIN_HEARTBEAT <= period <= 7 * 86400:
        expression = f"Subscription.channel.extension('{topics.HEARTBEAT_PERIOD}')"
        _refuse(expression, f"The heartbeat period is {MIN_HEARTBEAT} seconds to 7 days.")
    return period


def _end(value) -> datetime | None:
    if value in (None, ""):
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        _refuse("Subscription.end", "An instant with its time zone is required.")
    return moment


def resource(subscription) -> dict:
    channel = {
        "type": "rest-hook",
        "endpoint": subscription.endpoint,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": topics.PAYLOAD_CONTENT, "valueCode": "id-only"}]},
    }
    if subscription.heartbeat_period:
        channel["extension"] = [{"url": topics.HEARTBEAT_PERIOD, "valueUnsignedInt": subscription.heartbeat_period}]
    if subscription.headers:
        channel["header"] = subscription.headers
    body = {
        "resourceType": "Subscription",
        "id": str(subscription.pk),
        "meta": {"profile": [topics.SUBSCRIPTION_PROFILE]},
        "status": subscription.status,
        "reason": subscription.reason or topics.TOPICS[subscription.topic].title,
        "criteria": subscription.topic,
        "channel": channel,
    }
    if subscription.end:
        body["end"] = iso(subscription.end)
    if subscription.error:
        body["error"] = subscription.error
    return body
