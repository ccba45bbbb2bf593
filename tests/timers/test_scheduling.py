"""Timers are written and cancelled in the transitions' transactions."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from carepath.models import Timer, TimerKind, TimerState, WorkItem, WorkItemKind
from imaging import services as imaging
from referrals import services

pytestmark = pytest.mark.django_db


def pending(**filters):
    return Timer.objects.filter(state=TimerState.PENDING, **filters)


def test_a_new_referral_gets_a_triage_reminder_and_an_escalation_at_its_deadline(pathway):
    referral = pathway.submitted()
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)
    reminder, escalation = pending(work_item=item).order_by("due_at")
    assert (reminder.kind, reminder.due_at) == (TimerKind.REMINDER, item.due_at - timedelta(hours=24))
    assert (escalation.kind, escalation.due_at) == (TimerKind.ESCALATION, item.due_at)


def test_leaving_a_step_cancels_its_timers_and_starts_the_next_steps(pathway):
    referral = pathway.triaged()
    triage = WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)
    assessment = WorkItem.objects.get(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT)
    assert not pending(work_item=triage).exists()
    assert Timer.objects.filter(work_item=triage, state=TimerState.CANCELLED).count() == 2
    assert pending(work_item=assessment, kind=TimerKind.ESCALATION).exists()


def test_a_refused_transition_writes_no_timers(pathway, pediatrician):
    referral = pathway.submitted()
    before = Timer.objects.count()
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017  any refusal
        services.referral_triage(referral_id=referral.pk, actor=pediatrician, priority="routine")
    assert Timer.objects.count() == before


def test_a_rolled_back_transition_leaves_no_timers(pathway, neurologist):
    referral = pathway.submitted()
    before = set(Timer.objects.values_list("pk", "state"))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")
        raise RuntimeError("the request failed after the transition")
    assert set(Timer.objects.values_list("pk", "state")) == before


def test_scheduling_an_mri_sets_family_reminders_and_the_missed_check(pathway):
    referral = pathway.scheduled()
    appointment = pathway.mri(referral).appointment
    timers = {t.key.split(":")[-1]: t for t in pending(appointment=appointment)}
    assert timers["t7"].due_at == appointment.start - timedelta(days=7)
    assert timers["t1"].due_at == appointment.start - timedelta(days=1)
    assert timers["flag_missed"].due_at == appointment.end + timedelta(minutes=120)


def test_a_sedated_scan_also_gets_an_early_morning_fasting_reminder(pathway):
    referral = pathway.scheduled(patient=None)
    appointment = pathway.mri(referral).appointment
    assert (appointment.sedation == "none") == (not pending(appointment=appointment, key__endswith=":morning").exists())


def test_rescheduling_cancels_the_old_appointments_timers_and_sets_new_ones(pathway, coordinator):
    referral = pathway.scheduled()
    mri = pathway.mri(referral)
    old = mri.appointment
    imaging.mri_reschedule(
        mri_request_id=mri.pk,
        actor=coordinator,
        reason="family asked",
        scheduled_start=timezone.now() + timedelta(days=20),
    )
    mri.refresh_from_db()
    assert not pending(appointment=old).exists()
    assert pending(appointment=mri.appointment, kind=TimerKind.FLAG_MISSED).exists()


def test_concluding_sets_the_auto_close_and_acknowledging_cancels_it(pathway, pediatrician):
    referral = pathway.concluded()
    auto_close = Timer.objects.get(referral=referral, kind=TimerKind.AUTO_CLOSE)
    assert auto_close.due_at == referral.concluded_at + timedelta(days=14)
    services.referral_acknowledge(referral_id=referral.pk, actor=pediatrician)
    auto_close.refresh_from_db()
    assert auto_close.state == TimerState.CANCELLED


def test_cancelling_the_case_cancels_every_pending_timer(pathway, neurologist):
    referral = pathway.scheduled()
    services.referral_cancel(referral_id=referral.pk, actor=neurologist, reason="moved away")
    assert not pending(referral=referral).exists()
