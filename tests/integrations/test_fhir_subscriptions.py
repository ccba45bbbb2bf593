"""FHIR R4 topic-based Subscriptions (Backport IG) for an EHR client, against a real HTTP receiver:
the handshake activates, status changes of the client's own cases arrive as R4 `history` Bundles
led by the SubscriptionStatus, numbered so `$status` reveals a gap, heartbeats come when idle."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.pathway.roles import Role
from integrations.models import FhirSubscription, OutboundDelivery
from integrations.outbox import relay, tasks
from integrations.subscriptions import topics
from referrals import fhir, services
from referrals.models import Referral
from tests import factories
from tests.integrations.fhir_messages import ehr_client_for

pytestmark = pytest.mark.django_db

REFERRAL_TOPIC = f"{topics.TOPIC_BASE}/referral-status"
MRI_TOPIC = f"{topics.TOPIC_BASE}/mri-request-status"


@pytest.fixture
def ehr(groups):
    return factories.UserFactory(role=Role.EHR_CLIENT, username="ehr")


def subscription(url, topic=REFERRAL_TOPIC, **channel):
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [topics.SUBSCRIPTION_PROFILE]},
        "status": "requested",
        "reason": "Keep the EHR's referral worklist current",
        "criteria": topic,
        "channel": {
            "type": "rest-hook",
            "endpoint": url,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": topics.PAYLOAD_CONTENT, "valueCode": "id-only"}]},
            "header": ["Authorization: Bearer ehr-inbox-token"],
            **channel,
        },
    }


def subscribe(client, body, capture):
    with capture(execute=True):
        response = client.post("/api/v1/fhir/Subscription", json.dumps(body), content_type="application/fhir+json")
    return response


def status_of(bundle) -> dict:
    first = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "Parameters"
    values = {}
    for p in first["parameter"]:
        values.setdefault(p["name"], []).append(p)
    return values


def sent_by(ehr, pathway):
    case = pathway.submitted()
    Referral.objects.filter(pk=case.pk).update(created_by=ehr)
    return case


def test_create_handshakes_then_a_status_change_arrives_as_an_r4_history_bundle(
    ehr, pathway, receiver, django_capture_on_commit_callbacks
):
    client = ehr_client_for(ehr)
    created = subscribe(client, subscription(receiver.url), django_capture_on_commit_callbacks)

    assert created.status_code == 201, created.content
    assert created["Content-Type"] == "application/fhir+json"
    handshake = receiver.bodies()[0]
    fhir.validate_bundle(handshake)
    assert handshake["type"] == "history"
    assert status_of(handshake)["type"][0]["valueCode"] == "handshake"
    assert receiver.received[0]["headers"]["authorization"] == "Bearer ehr-inbox-token"
    assert receiver.received[0]["headers"]["content-type"] == "application/fhir+json"
    sub_id = created.json()["id"]
    assert client.get(f"/api/v1/fhir/Subscription/{sub_id}").json()["status"] == "active"

    case = sent_by(ehr, pathway)
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")

    bundle = receiver.bodies()[-1]
    fhir.validate_bundle(bundle)
    status = status_of(bundle)
    assert status["type"][0]["valueCode"] == "event-notification"
    assert status["topic"][0]["valueCanonical"] == REFERRAL_TOPIC
    assert status["events-since-subscription-start"][0]["valueString"] == "1"
    event = {p["name"]: p for p in status["notification-event"][0]["part"]}
    focus = f"http://127.0.0.1:8000/api/v1/fhir/ServiceRequest/referral-{case.pk}"
    assert event["event-number"]["valueString"] == "1"
    assert event["focus"]["valueReference"]["reference"] == focus
    assert bundle["entry"][1] == {
        "fullUrl": focus,
        "request": {"method": "PUT", "url": f"ServiceRequest/referral-{case.pk}"},
        "response": {"status": "200"},
    }
    assert "resource" not in bundle["entry"][1]  # id-only


def test_status_counts_every_event_so_a_client_can_find_a_gap(
    ehr, pathway, receiver, django_capture_on_commit_callbacks
):
    client = ehr_client_for(ehr)
    sub_id = subscribe(client, subscription(receiver.url), django_capture_on_commit_callbacks).json()["id"]
    case = sent_by(ehr, pathway)
    receiver.statuses = [500]  # the first notification is lost for now
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    other = sent_by(ehr, pathway)
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_triage(referral_id=other.pk, actor=pathway.neuro, priority="routine")

    received = [status_of(b)["notification-event"][0]["part"][0]["valueString"] for b in receiver.bodies()[1:] if b]
    assert received == ["1", "2"]  # 1 failed (answered 500), 2 arrived
    response = client.get(f"/api/v1/fhir/Subscription/{sub_id}/$status")
    assert response.status_code == 200
    fhir.validate_bundle(response.json())
    status = status_of(response.json())
    assert status["type"][0]["valueCode"] == "query-status"
    assert status["events-since-subscription-start"][0]["valueString"] == "2"


def test_status_counts_an_event_whose_notification_waits_for_its_number(
    ehr, pathway, receiver, django_capture_on_commit_callbacks
):
    client = ehr_client_for(ehr)
    sub_id = subscribe(client, subscription(receiver.url), django_capture_on_commit_callbacks).json()["id"]
    case = sent_by(ehr, pathway)
    services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")  # not sent yet

    unrelayed = status_of(client.get(f"/api/v1/fhir/Subscription/{sub_id}/$status").json())
    assert unrelayed["events-since-subscription-start"][0]["valueString"] == "1"  # committed, not fanned out
    relay.relay_all()
    waiting = status_of(client.get(f"/api/v1/fhir/Subscription/{sub_id}/$status").json())
    assert waiting["events-since-subscription-start"][0]["valueString"] == "1"
    tasks.deliver(list(OutboundDelivery.objects.filter(kind="fhir-event").values_list("pk", flat=True)))

    sent = status_of(receiver.bodies()[-1])
    assert sent["notification-event"][0]["part"][0]["valueString"] == "1"
    after = status_of(client.get(f"/api/v1/fhir/Subscription/{sub_id}/$status").json())
    assert after["events-since-subscription-start"][0]["valueString"] == "1"


def test_only_cases_the_client_may_see_and_only_its_topic(ehr, pathway, receiver, django_capture_on_commit_callbacks):
    subscribe(ehr_client_for(ehr), subscription(receiver.url, MRI_TOPIC), django_capture_on_commit_callbacks)
    pathway.imaging()  # someone else's case: nothing
    mine = sent_by(ehr, pathway)
    services.referral_triage(referral_id=mine.pk, actor=pathway.neuro, priority="routine")
    relay.relay_all()

    kinds = list(OutboundDelivery.objects.values_list("kind", flat=True))
    assert kinds == ["fhir-handshake"]  # the triage is not an MRI status change, the other case not theirs


def test_a_heartbeat_comes_after_an_idle_period(ehr, receiver, django_capture_on_commit_callbacks):
    channel = {"extension": [{"url": topics.HEARTBEAT_PERIOD, "valueUnsignedInt": 3600}]}
    subscribe(ehr_client_for(ehr), subscription(receiver.url, **channel), django_capture_on_commit_callbacks)
    assert tasks.tick()["heartbeats"] == 0

    FhirSubscription.objects.update(next_heartbeat_at=timezone.now() - timedelta(seconds=1))
    assert tasks.tick()["heartbeats"] == 1

    heartbeat = receiver.bodies()[-1]
    fhir.validate_bundle(heartbeat)
    assert status_of(heartbeat)["type"][0]["valueCode"] == "heartbeat"
    assert FhirSubscription.objects.get().next_heartbeat_at > timezone.now() + timedelta(minutes=59)


def test_a_failed_handshake_leaves_the_subscription_requested_and_silent(
    ehr, pathway, receiver, settings, django_capture_on_commit_callbacks
):
    settings.CAREPATH_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.statuses = [404]
    created = subscribe(ehr_client_for(ehr), subscription(receiver.url), django_capture_on_commit_callbacks)

    assert FhirSubscription.objects.get(pk=created.json()["id"]).status == "error"
    case = sent_by(ehr, pathway)
    services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    relay.relay_all()
    assert OutboundDelivery.objects.filter(kind="fhir-event").count() == 0


def test_the_owner_deletes_its_subscription_and_nobody_else_sees_it(
    ehr, receiver, groups, django_capture_on_commit_callbacks
):
    client = ehr_client_for(ehr)
    sub_id = subscribe(client, subscription(receiver.url), django_capture_on_commit_callbacks).json()["id"]
    other = ehr_client_for(factories.UserFactory(role=Role.EHR_CLIENT, username="ehr2"))

    assert other.get(f"/api/v1/fhir/Subscription/{sub_id}").status_code == 404
    assert other.delete(f"/api/v1/fhir/Subscription/{sub_id}").status_code == 404
    assert client.delete(f"/api/v1/fhir/Subscription/{sub_id}").status_code == 204
    response = client.get(f"/api/v1/fhir/Subscription/{sub_id}")
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "change, expression",
    [
        (lambda s: s.update(criteria="https://example.org/other"), "Subscription.criteria"),
        (lambda s: s["channel"].update(type="websocket"), "Subscription.channel.type"),
        (lambda s: s["channel"].update(endpoint="ftp://x"), "Subscription.channel.endpoint"),
        (
            lambda s: s["channel"]["_payload"]["extension"][0].update(valueCode="full-resource"),
            f"Subscription.channel.payload.extension('{topics.PAYLOAD_CONTENT}')",
        ),
        (
            lambda s: s["channel"].update(extension=[{"url": topics.HEARTBEAT_PERIOD, "valueUnsignedInt": 5}]),
            f"Subscription.channel.extension('{topics.HEARTBEAT_PERIOD}')",
        ),
    ],
)
def test_what_carepath_does_not_offer_is_refused_naming_the_element(ehr, change, expression):
    body = subscription("https://ehr.example.org/fhir-inbox")
    change(body)

    response = ehr_client_for(ehr).post(
        "/api/v1/fhir/Subscription", json.dumps(body), content_type="application/fhir+json"
    )

    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == [expression]
    assert FhirSubscription.objects.count() == 0


def test_only_an_ehr_client_may_subscribe(neurologist):
    body = json.dumps(subscription("https://ehr.example.org/fhir-inbox"))

    response = ehr_client_for(neurologist).post("/api/v1/fhir/Subscription", body, content_type="application/fhir+json")

    assert response.status_code == 403 and response.json()["resourceType"] == "OperationOutcome"
