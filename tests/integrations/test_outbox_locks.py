"""The outbox takes no lock a transition could wait on: a FHIR subscription's notifications are
numbered after the commit, so a transition goes through while the subscription's row is held (real
threads, real row locks, PostgreSQL)."""

import threading

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from carepath.pathway.roles import Role
from integrations import events
from integrations.models import FhirSubscription, OutboundDelivery
from integrations.outbox import relay, sending
from integrations.subscriptions import topics
from referrals import services
from referrals.models import Referral
from tests import factories
from tests.pathway.test_concurrency import make_pathway

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("require_postgres"),
]


def hold_row(subscription_id: int, held: threading.Event, release: threading.Event) -> None:
    """Another session holding the subscription's row as the numbering does while it writes, and
    updating it."""
    try:
        with transaction.atomic():
            FhirSubscription.objects.select_for_update(no_key=True).get(pk=subscription_id)
            FhirSubscription.objects.filter(pk=subscription_id).update(events_since_start=0)
            held.set()
            release.wait(timeout=30)
    finally:
        connection.close()


def test_a_transition_does_not_wait_for_a_subscription_held_by_another_session(receiver, monkeypatch):
    monkeypatch.setattr(events, "_senders", [])  # the sender runs later, not inline (tasks are eager in tests)
    monkeypatch.setattr(settings, "CAREPATH_OUTBOX_RELAY_EAGER", False)  # the relay's pass, below
    pathway = make_pathway()
    ehr = factories.user_with_role(Role.EHR_CLIENT, "ehr")
    subscription = FhirSubscription.objects.create(
        owner=ehr,
        topic=f"{topics.TOPIC_BASE}/referral-status",
        endpoint=receiver.url,
        status="active",
        created_at=timezone.now(),
    )
    case = pathway.submitted()
    Referral.objects.filter(pk=case.pk).update(created_by=ehr)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_row, args=(subscription.pk, held, release))
    holder.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # waiting on the held row would fail the transition
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    relay.relay_all()  # the relay takes no lock on the subscription either
    row = OutboundDelivery.objects.get(subscription=subscription, kind="fhir-event")
    assert row.body == ""  # written with the transition, numbered once the row is free
    counts, _ = sending.deliver([row.pk])

    assert counts["sent"] == 1
    assert '"name":"event-number","valueString":"1"' in OutboundDelivery.objects.get(pk=row.pk).body
    assert FhirSubscription.objects.get(pk=subscription.pk).events_since_start == 1
