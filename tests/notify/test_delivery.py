"""Sending deliveries in claimed chunks, and firing timers in batches (carepath/notify/delivery.py,
carepath/timers/sweep.py): the guarantees the sweep's throughput must not cost."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carepath.models import CaseEvent, Delivery, DeliveryState, Notification, Timer, TimerState, WorkItem
from carepath.notify import delivery, notifications
from carepath.notify.message_templates import render_text
from carepath.timers import sweep
from tests.timers.queries import due_reminders_on, queries_to_fire

pytestmark = pytest.mark.django_db


def make_deliveries(n: int, prefix: str = "d") -> list[Delivery]:
    now = timezone.now()
    return Delivery.objects.bulk_create(
        Delivery(
            dedupe_key=f"{prefix}:{i}",
            channel="email",
            to=f"{prefix}{i}@example.org",
            subject="Reminder",
            body="MRI tomorrow",
            created_at=now,
            next_attempt_at=now,
        )
        for i in range(n)
    )


def states(rows) -> list[str]:
    return list(Delivery.objects.filter(pk__in=[d.pk for d in rows]).order_by("pk").values_list("state", flat=True))


class SenderDied(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no except clause catches it."""


def test_a_sender_that_dies_mid_chunk_leaves_the_messages_before_it_sent_and_the_rest_pending(monkeypatch):
    rows = make_deliveries(5)
    real_send = delivery.send

    def dies_on_the_third(delivery, connection=None):
        if delivery.pk == rows[2].pk:
            raise SenderDied
        real_send(delivery, connection)

    monkeypatch.setattr(delivery, "send", dies_on_the_third)
    with pytest.raises(SenderDied):
        delivery.deliver([d.pk for d in rows])
    assert states(rows) == ["sent", "sent", "pending", "pending", "pending"] and len(mail.outbox) == 2


def test_rows_a_live_sender_holds_are_skipped_by_another_sender():
    rows = make_deliveries(2)
    Delivery.objects.filter(pk=rows[0].pk).update(
        claim_token="other", claimed_until=timezone.now() + timedelta(minutes=5)
    )
    counts = delivery.deliver([d.pk for d in rows])
    assert counts["sent"] == 1 and counts["skipped"] == 1 and states(rows) == ["pending", "sent"]


def test_rows_of_a_dead_sender_are_sent_once_when_its_claim_expires(monkeypatch):
    rows = make_deliveries(3)
    monkeypatch.setattr(delivery, "send", lambda d, c=None: (_ for _ in ()).throw(SenderDied()))
    with pytest.raises(SenderDied):
        delivery.deliver([d.pk for d in rows])
    monkeypatch.undo()
    assert delivery.deliver([d.pk for d in rows])["skipped"] == 3  # the claim still stands
    Delivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    delivery.deliver([d.pk for d in rows])
    delivery.deliver([d.pk for d in rows])
    assert states(rows) == ["sent"] * 3 and sorted(m.to[0] for m in mail.outbox) == [d.to for d in rows]


def test_a_message_whose_sender_dies_every_time_ends_as_a_dead_letter(settings):
    settings.CAREPATH_DELIVERY_MAX_ATTEMPTS = 2
    (row,) = make_deliveries(1)
    Delivery.objects.filter(pk=row.pk).update(attempts=2, claimed_until=timezone.now() - timedelta(seconds=1))
    delivery.deliver([row.pk])
    row.refresh_from_db()
    assert row.state == DeliveryState.DEAD and "died" in row.last_error and not mail.outbox


class CountingBackend(EmailBackend):
    opened = 0

    def open(self):
        if not getattr(self, "_open", False):
            CountingBackend.opened += 1
            self._open = True
        return True

    def close(self):
        self._open = False


def test_one_mail_connection_carries_every_message_of_a_call(settings):
    settings.EMAIL_BACKEND = "tests.notify.test_delivery.CountingBackend"
    CountingBackend.opened = 0
    rows = make_deliveries(250)
    assert delivery.deliver([d.pk for d in rows])["sent"] == 250
    assert CountingBackend.opened == 1 and len(mail.outbox) == 250


def test_a_failed_send_opens_a_fresh_connection_for_the_next_message(settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.notify.test_delivery.CountingBackend"
    CountingBackend.opened = 0
    rows = make_deliveries(3)
    real_send = delivery.send

    def second_fails(delivery, connection=None):
        if delivery.pk == rows[1].pk:
            raise ConnectionResetError("server hung up")
        real_send(delivery, connection)

    monkeypatch.setattr(delivery, "send", second_fails)
    delivery.deliver([d.pk for d in rows])
    assert states(rows) == ["sent", "failed", "sent"] and CountingBackend.opened == 2


def test_each_message_costs_one_statement_beyond_its_chunk():
    few, many = make_deliveries(5, "few"), make_deliveries(50, "many")
    with CaptureQueriesContext(connection) as for_few:
        delivery.deliver([d.pk for d in few])
    with CaptureQueriesContext(connection) as for_many:
        delivery.deliver([d.pk for d in many])
    assert len(for_many) - len(for_few) == 45


# --- firing in batches -------------------------------------------------------------------------------
def due_reminders(pathway, n: int) -> list[int]:
    item = WorkItem.objects.get(referral=pathway.submitted(), kind="triage")
    return due_reminders_on(item, n, "batch")


def test_firing_a_batch_costs_the_same_queries_for_2_timers_as_for_40(pathway):
    sweep.fire_batch(due_reminders(pathway, 1))  # warm the per-process caches (SLA policies, system user)
    few, many = due_reminders(pathway, 2), due_reminders(pathway, 40)
    assert queries_to_fire(few) == queries_to_fire(many)
    assert Timer.objects.filter(pk__in=few + many, state=TimerState.DONE).count() == 42


def test_firing_a_batch_reads_the_childs_patient_record_but_not_the_cases_clinical_fields(pathway):
    ids = due_reminders(pathway, 2)
    with CaptureQueriesContext(connection) as queries:
        sweep.fire_batch(ids)
    sql = " ".join(q["sql"] for q in queries)
    assert '"referrals_patient"."given_name"' in sql and '"referrals_referral"."reason"' not in sql


def test_firing_a_batch_again_changes_nothing(pathway):
    ids = due_reminders(pathway, 5)
    first = sweep.fire_batch(ids)
    counts = (Notification.objects.count(), CaseEvent.objects.count(), Delivery.objects.count())
    assert sweep.fire_batch(ids).rows == [] and len(first.rows) == 5
    assert (Notification.objects.count(), CaseEvent.objects.count(), Delivery.objects.count()) == counts


# --- rendering once per shape --------------------------------------------------------------------------
STAFF = {"step": "Triage the referral", "level": 2, "hours_before": None}


def staff_values(i: int, note: str = "") -> dict:
    due = timezone.now() + timedelta(days=i, minutes=13 * i)
    return {
        "reference": f"CP-{i:06d}",
        "initials": "O'B",
        "due_at": notifications.local(due),
        "link": f"http://x/cases/{i}/",
        "note": note,
    }


@pytest.mark.parametrize(
    "template", ["staff_reminder", "staff_escalation", "staff_alert", "case_clock_reminder", "case_clock_escalation"]
)
def test_a_message_filled_in_from_its_shape_reads_exactly_as_a_full_render(template):
    name = f"email/{template}.txt"
    for i, note in enumerate(["", "Guardian's phone: <none> & e-mail", "", "Second note"]):
        values = staff_values(i, note)
        assert render_text(name, fixed=STAFF, varying=values) == render_to_string(name, STAFF | values).strip()


def test_a_template_that_transforms_a_varying_value_is_rendered_in_full_and_still_right():
    fixed = {"which": "t1", "time_zone": "Europe/London"}
    for i in range(3):
        varying = {
            "child": f"Alex{i}",
            "location": "MRI 2",
            "start": timezone.now() + timedelta(days=i),
            "fasting": {"solids_until": "07:00", "milk_until": "09:00", "clear_fluids_until": "10:00"},
            "sedation": ["General anaesthesia", "Nurse sedation", "Feed and wrap"][i],  # shown through |lower
        }
        expected = render_to_string("email/family_reminder.txt", fixed | varying).strip()
        assert render_text("email/family_reminder.txt", fixed=fixed, varying=varying) == expected


def test_a_family_reminder_gives_the_scan_time_in_the_familys_time_zone(pathway):
    from carepath.notify import family
    from referrals.models import Patient

    referral = pathway.scheduled()
    Patient.objects.filter(pk=referral.patient_id).update(time_zone="America/New_York")
    reminder = Timer.objects.select_related("appointment", "referral__patient").get(
        appointment=pathway.mri(referral).appointment, data__which="t1"
    )
    subject, body = family.message(reminder)
    start = reminder.appointment.start
    new_york, london = (timezone.localtime(start, ZoneInfo(z)) for z in ("America/New_York", "Europe/London"))
    assert f"at {new_york:%H:%M}" in subject and f"at {new_york:%H:%M}" in body
    assert f"{london:%H:%M}" not in subject + body


# --- a fired batch's deliveries, sent by the process that fired it ---------------------------------------
def test_a_fired_batch_holds_its_deliveries_until_its_own_process_sends_them(pathway):
    claim = sweep.fire_batch(due_reminders(pathway, 3))
    assert delivery.deliver([d.pk for d in claim.rows])["skipped"] == 3 and not mail.outbox
    assert delivery.send_claimed([claim])["sent"] == 3
    assert states(claim.rows) == ["sent"] * 3 and len(mail.outbox) == 3


def test_deliveries_of_a_worker_that_died_after_firing_are_sent_once_when_its_claim_expires(pathway):
    claim = sweep.fire_batch(due_reminders(pathway, 2))  # committed; the worker dies before sending
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.update(claimed_until=past, next_attempt_at=past)  # the lease runs out
    sweep.run_sync()
    sweep.run_sync()
    assert states(claim.rows) == ["sent", "sent"] and len(mail.outbox) == 2


def test_a_batch_retried_one_by_one_holds_only_the_deliveries_that_were_committed(pathway, monkeypatch):
    ids = due_reminders(pathway, 3)
    real_render = notifications.render_staff

    def second_fails(timer, *, now):
        if timer.pk == ids[1]:
            raise ValueError("a template the data does not fit")
        return real_render(timer, now=now)

    monkeypatch.setattr(notifications, "render_staff", second_fails)
    claim = sweep.fire_batch(ids)
    assert sorted(d.pk for d in claim.rows) == sorted(Delivery.objects.values_list("pk", flat=True))
    assert len(claim.rows) == 2 and Timer.objects.get(pk=ids[1]).state == TimerState.FIRED


# --- the sent mark on PostgreSQL (its own transaction, without waiting for the WAL flush) -----------------
@pytest.mark.django_db(transaction=True)
def test_delivering_leaves_the_connection_committing_durably(require_postgres):
    rows = make_deliveries(3)
    assert delivery.deliver([d.pk for d in rows])["sent"] == 3 and states(rows) == ["sent"] * 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True)
def test_a_message_sent_after_its_claim_was_taken_over_is_reported_and_not_marked(
    require_postgres, monkeypatch, caplog
):
    (row,) = make_deliveries(1)
    real_send = delivery.send

    def slow_send(delivery, connection=None):  # another sender took the row over meanwhile
        Delivery.objects.filter(pk=delivery.pk).update(claim_token="other")
        real_send(delivery, connection)

    monkeypatch.setattr(delivery, "send", slow_send)
    delivery.deliver([row.pk])
    assert states([row]) == ["pending"] and "after its claim had been taken over" in caplog.text
