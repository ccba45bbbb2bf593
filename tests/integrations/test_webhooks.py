"""Outbound webhooks end to end: a transition writes its event in its own transaction and the relay
its deliveries once it has committed (run in-process in tests); a real HTTP receiver on localhost
gets signed, thin messages; retries back off, the last failure is a dead letter an admin can send
again, 410 disables the endpoint, a case's messages arrive in order, and a worker that died sends
nothing twice."""

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from carepath.models import DeliveryState
from integrations.models import Event, OutboundDelivery, WebhookEndpoint
from integrations.outbox import relay, sending, tasks
from integrations.webhooks import signing
from integrations.webhooks.admin import OutboundDeliveryAdmin
from referrals import services
from referrals.samples import ASSESSMENT

pytestmark = pytest.mark.django_db


def triage(pathway, capture):
    case = pathway.submitted()
    with capture(execute=True):
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    return case


def rows(**filters):
    return list(OutboundDelivery.objects.filter(**filters).order_by("id"))


def make_due():
    OutboundDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1), claimed_until=None)


def test_a_transition_is_delivered_signed_and_thin(pathway, endpoint, receiver, django_capture_on_commit_callbacks):
    case = triage(pathway, django_capture_on_commit_callbacks)

    [message] = receiver.received
    assert signing.verify(endpoint.secret, message["headers"], message["body"], now=int(time.time()))
    body = receiver.bodies()[0]
    assert body["type"] == "referral.transitioned"
    assert body["data"]["transition"] == "triage"
    assert (body["data"]["from_state"], body["data"]["to_state"]) == ("submitted", "triaged")
    assert body["data"]["referral"] == {"id": case.pk, "url": f"http://127.0.0.1:8000/api/v1/referrals/{case.pk}/"}
    assert message["headers"]["webhook-id"] == body["data"]["id"] == Event.objects.get().public_id
    assert case.patient.family_name not in message["body"]
    assert rows()[0].state == DeliveryState.SENT


def test_one_query_reads_who_listens_endpoints_and_subscriptions_alike(endpoint, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations import events
    from integrations.models import FhirSubscription

    topic = "https://carepath.example.org/fhir/SubscriptionTopic/referral-status"
    subscription = FhirSubscription.objects.create(
        owner=admin_user, topic=topic, endpoint="http://127.0.0.1:9/fhir", status="active", created_at=timezone.now()
    )
    FhirSubscription.objects.create(  # ended: nobody listens there any more
        owner=admin_user,
        topic=topic,
        endpoint="http://127.0.0.1:9/old",
        status="active",
        created_at=timezone.now(),
        end=timezone.now() - timedelta(days=1),
    )

    events.listeners()  # on PostgreSQL the first call of a session prepares the statement
    with CaptureQueriesContext(connection) as captured:
        found = events.listeners()

    assert len(captured) == 1
    assert [(r["pk"], sorted(json.loads(r["wants"])), r["whose"]) for r in found["webhook"]] == [
        (endpoint.pk, sorted(endpoint.event_types), None)
    ]
    assert [(r["pk"], r["wants"], r["whose"]) for r in found["fhir-subscription"]] == [
        (subscription.pk, topic, admin_user.pk)
    ]


def test_a_change_that_announces_twice_queues_no_message_and_the_relay_one_for_its_events(
    pathway, endpoint, monkeypatch, django_capture_on_commit_callbacks, settings
):
    from integrations import events

    settings.CAREPATH_OUTBOX_RELAY_EAGER = False  # the relay process's pass, below
    queued = []
    monkeypatch.setattr(events, "_senders", [queued.append])
    case = pathway.submitted()
    with django_capture_on_commit_callbacks(execute=True):  # the return also tells the referrer
        services.referral_return_to_referrer(referral_id=case.pk, actor=pathway.neuro, reason="Add a video.")

    written = Event.objects.filter(referral_id=case.pk).order_by("id")
    assert sorted(e.type for e in written) == ["notification.created", "referral.transitioned"]
    assert queued == [] and not OutboundDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert relay.relay_all() == 2
    assert queued == [[e.pk for e in written]]
    assert OutboundDelivery.objects.filter(event__referral_id=case.pk).count() == 2


def test_the_event_commits_or_rolls_back_with_the_change(pathway, endpoint):
    case = pathway.submitted()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
        assert Event.objects.count() == 1 and OutboundDelivery.objects.count() == 0  # the relay writes them
        raise RuntimeError("the change fails after the transition")

    assert relay.relay_all() == 0
    assert Event.objects.count() == 0 and OutboundDelivery.objects.count() == 0


def test_with_nobody_listening_the_event_is_written_fanned_out(pathway):
    case = pathway.submitted()
    services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")

    assert Event.objects.exists() and not relay.waiting().exists()


def test_an_endpoint_gets_only_the_event_types_it_asked_for(pathway, receiver, admin_user):
    WebhookEndpoint.objects.create(name="RIS", url=receiver.url, event_types=["mri_request.transitioned"])

    pathway.imaging()
    relay.relay_all()

    assert {d.event.type for d in OutboundDelivery.objects.select_related("event")} == {"mri_request.transitioned"}


def test_a_signed_report_is_an_mri_transition_and_a_report_event(pathway, endpoint):
    pathway.results_review(category="routine")

    types = list(Event.objects.order_by("id").values_list("type", flat=True))
    assert types.count("report.signed") == 1
    report = Event.objects.get(type="report.signed")
    assert report.data["report_id"] and report.data["transition"] == "sign_report"


def test_a_failure_is_retried_with_back_off_then_sent(pathway, endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    triage(pathway, django_capture_on_commit_callbacks)

    [row] = rows()
    assert (row.state, row.attempts, row.response_status, row.last_error) == ("failed", 1, 500, "HTTP 500")
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 40 < wait < 80  # 60 s ± 25 %
    assert tasks.tick()["requeued"] == 0  # not due yet

    make_due()
    assert tasks.tick()["requeued"] == 1

    [row] = rows()
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(receiver.received) == 2
    assert receiver.received[0]["headers"]["webhook-id"] == receiver.received[1]["headers"]["webhook-id"]


def test_the_retry_schedule_spreads_over_about_three_days():
    waits = sending.schedule()

    assert waits[:3] == [60, 120, 240]
    assert 2.5 < sum(waits) / 86400 < 3.2


def test_the_last_failure_is_a_dead_letter_that_an_admin_sends_again(
    pathway, endpoint, receiver, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.CAREPATH_WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [503, 503]
    triage(pathway, django_capture_on_commit_callbacks)
    make_due()
    tasks.tick()
    [row] = rows()
    assert (row.state, row.attempts) == ("dead", 2)

    request = RequestFactory().post("/admin/")
    request.user = admin_user
    admin = OutboundDeliveryAdmin(OutboundDelivery, None)
    admin.message_user = lambda *args, **kwargs: None
    with django_capture_on_commit_callbacks(execute=True):
        admin.send_again(request, OutboundDelivery.objects.all())

    [row] = rows()
    assert row.state == "sent" and len(receiver.received) == 3


def test_410_gone_disables_the_endpoint_and_stops_its_messages(
    pathway, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [410]
    case = triage(pathway, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_record_assessment(referral_id=case.pk, actor=pathway.neuro, **ASSESSMENT)

    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason == "410 Gone"
    assert [r.state for r in rows()] == ["dead"]  # nothing new is written for a disabled endpoint
    assert len(receiver.received) == 1


def test_after_a_410_the_rest_of_the_batch_is_not_sent_to_that_endpoint(pathway, endpoint, receiver):
    receiver.statuses = [410]
    for _ in range(3):  # three cases, their deliveries sent in one batch
        case = pathway.submitted()
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    relay.relay_all()

    counts = tasks.deliver([r.pk for r in rows()])

    assert len(receiver.received) == 1
    assert counts["dead"] == len(rows()) >= 3
    assert {r.state for r in rows()} == {"dead"}


def test_a_later_event_of_a_case_waits_for_the_earlier_one(
    pathway, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    case = triage(pathway, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_record_assessment(referral_id=case.pk, actor=pathway.neuro, **ASSESSMENT)

    first, second = rows(event__type="referral.transitioned")
    assert (first.state, second.state) == ("failed", "pending")
    assert len(receiver.received) == 1  # the assessment waited behind the failed triage

    make_due()
    tasks.tick()

    transitions = [b["data"]["transition"] for b in receiver.bodies() if b["type"] == "referral.transitioned"]
    assert transitions == ["triage", "triage", "record_assessment"]
    assert {r.state for r in rows()} == {"sent"}


def test_another_case_is_not_held_up_by_a_failing_one(pathway, endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    triage(pathway, django_capture_on_commit_callbacks)
    triage(pathway, django_capture_on_commit_callbacks)

    assert [r.state for r in rows()] == ["failed", "sent"]


def test_a_worker_that_died_sends_nothing_twice(pathway, endpoint, receiver, settings):
    case = pathway.submitted()
    services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    relay.relay_all()
    [row] = rows()
    # a worker claimed the row and died before sending: nobody else takes it during its lease
    from carepath.notify import delivery as machinery

    machinery.claim_rows(OutboundDelivery, [row.pk], max_attempts=13, fields=sending.FIELDS)
    assert tasks.deliver([row.pk])["skipped"] == 1
    assert receiver.received == []

    OutboundDelivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert tasks.deliver([row.pk])["sent"] == 1
    assert tasks.deliver([row.pk])["skipped"] == 1  # a redelivered task message sends nothing again
    assert len(receiver.received) == 1


def test_a_refused_connection_is_a_failure_with_back_off(pathway, admin_user, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(name="down", url="http://127.0.0.1:9/hook", event_types=["referral.transitioned"])

    triage(pathway, django_capture_on_commit_callbacks)

    [row] = rows()
    assert row.state == "failed" and row.response_status is None and "Error" in row.last_error


def test_a_new_notification_is_an_event_with_its_id_and_kind(pathway, endpoint, neurologist):
    from carepath.notify import notifications

    case = pathway.submitted()
    notifications.notify([neurologist], kind="test", referral_id=case.pk, subject="S", body="B", dedupe_prefix="t1")
    relay.relay_all()

    event = Event.objects.get(type="notification.created")
    assert event.referral_id == case.pk and event.data["kind"] == "test"
    payload = OutboundDelivery.objects.get(event=event).body
    assert '"notification":{"id":' in payload and "/api/v1/notifications/" in payload
