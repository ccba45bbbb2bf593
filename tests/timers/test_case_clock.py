"""The 18-week referral-to-conclusion clock (docs/design.md §4, last row): scheduled at triage from the
referral's receipt, fired by the same sweep as every other timer, stopped with the case."""

from datetime import timedelta

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.utils import timezone

from carepath.models import CaseEvent, Notification, SLAPolicy, Timer, TimerKind, TimerState, WorkItem, WorkItemKind
from carepath.notify import notifications
from carepath.notify.message_templates import render_text
from carepath.pathway import case_clock, sla
from carepath.timers import sweep
from referrals import services
from tests import factories
from tests.timers.queries import due_reminders_on, queries_to_fire

pytestmark = pytest.mark.django_db
WEEK = timedelta(weeks=1)
CLOCK_KINDS = (TimerKind.CLOCK_REMINDER, TimerKind.CLOCK_ESCALATION)


def clock_timers(referral, **filters):
    return Timer.objects.filter(referral=referral, kind__in=CLOCK_KINDS, **filters).order_by("due_at")


def clock_notes(**filters):
    return Notification.objects.filter(kind__in=CLOCK_KINDS, **filters)


def clock_events(referral, kind):
    return CaseEvent.objects.filter(referral=referral, transition=kind)


def breach(referral):
    return referral.submitted_at + 18 * WEEK


# --- scheduling -------------------------------------------------------------------------------------
def test_triage_starts_the_clock_from_the_referrals_receipt_with_reminders_at_14_and_16_weeks(pathway):
    referral = pathway.triaged()
    reminder_14, reminder_16, escalation = clock_timers(referral, state=TimerState.PENDING)
    assert (reminder_14.kind, reminder_14.due_at) == (TimerKind.CLOCK_REMINDER, referral.submitted_at + 14 * WEEK)
    assert (reminder_16.kind, reminder_16.due_at) == (TimerKind.CLOCK_REMINDER, referral.submitted_at + 16 * WEEK)
    assert (escalation.kind, escalation.due_at) == (TimerKind.CLOCK_ESCALATION, breach(referral))


def test_a_referral_awaiting_triage_has_no_clock_timers_yet(pathway):
    assert not clock_timers(pathway.submitted()).exists()


def test_the_clock_puts_nothing_on_anyones_worklist(pathway):
    referral = pathway.triaged()
    kinds = set(WorkItem.objects.filter(referral=referral).values_list("kind", flat=True))
    assert kinds == {WorkItemKind.TRIAGE, WorkItemKind.FIRST_ASSESSMENT}
    assert not clock_timers(referral, work_item__isnull=False).exists()


def test_starting_the_clock_twice_writes_nothing_the_second_time(pathway):
    referral = pathway.triaged()
    case_clock.start(referral_id=referral.pk, priority="routine", submitted_at=referral.submitted_at)
    assert clock_timers(referral).count() == 3


def test_a_returned_and_resubmitted_referral_keeps_its_original_clock_start(pathway, neurologist, pediatrician):
    referral = pathway.submitted()
    services.referral_return_to_referrer(referral_id=referral.pk, actor=neurologist, reason="Any video?")
    services.referral_resubmit(referral_id=referral.pk, actor=pediatrician, response="Video attached.")
    services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")
    assert clock_timers(referral, kind=TimerKind.CLOCK_ESCALATION).get().due_at == breach(referral)


def test_an_admin_edit_of_the_clock_policy_applies_to_cases_triaged_afterwards(pathway):
    SLAPolicy.objects.filter(kind=case_clock.CLOCK, priority="routine").update(amount=10 * 7)
    sla.clear_cache()  # as post_save does after an admin's edit
    referral = pathway.triaged()
    escalation = clock_timers(referral, kind=TimerKind.CLOCK_ESCALATION).get()
    assert escalation.due_at == referral.submitted_at + 10 * WEEK


def test_every_priority_has_an_18_week_clock_policy_with_its_source():
    rows = SLAPolicy.objects.filter(kind=case_clock.CLOCK)
    assert {(p.priority, p.amount, p.unit) for p in rows} == {(p, 126, "days") for p in ("asap", "urgent", "routine")}
    assert {p.source for p in rows} == {"NHS referral-to-treatment, 18 weeks"}


# --- firing -------------------------------------------------------------------------------------------
def test_the_16_week_reminder_tells_the_neurology_queue_and_appears_in_the_timeline(pathway, neurologist):
    referral = pathway.triaged()
    sweep.run_sync(referral.submitted_at + 16 * WEEK + timedelta(minutes=1))
    # the 14-week reminder, due too when the first sweep runs at 16 weeks, is superseded: one message
    assert clock_notes(recipient=neurologist, referral=referral, kind=TimerKind.CLOCK_REMINDER).count() == 1
    skipped = clock_timers(referral, kind=TimerKind.CLOCK_REMINDER).get(data__hours_before=672)
    assert skipped.state == TimerState.CANCELLED and skipped.last_error.startswith("superseded")
    event = clock_events(referral, TimerKind.CLOCK_REMINDER).last()
    assert event.kind == CaseEvent.Kind.REMINDER and event.actor.username == "system"
    assert event.data["hours_before"] == 336 and event.data["notified"] == ["dr_neuro"]
    assert event.data["step"] == "Referral to conclusion (18-week standard)"


def test_the_reminder_email_gives_initials_case_reference_and_link_only(pathway, neurologist):
    referral = pathway.triaged()
    sweep.run_sync(referral.submitted_at + 14 * WEEK + timedelta(minutes=1))
    (message,) = [m for m in mail.outbox if m.subject.startswith("At risk")]
    assert f"CP-{referral.pk:06d}" in message.subject and "(AM)" in message.subject
    assert "18-week standard" in message.subject and "in about 4 weeks" in message.body
    assert "Morgan" not in message.subject + message.body and "Alex" not in message.subject + message.body
    assert f"/cases/{referral.pk}/" in message.body and message.to == [neurologist.email]


def test_the_neurologist_holding_the_cases_neurology_item_is_the_one_told(pathway, neurologist):
    holder = factories.user_with_role("neurologist", "dr_neuro_two")
    referral = pathway.triaged()
    WorkItem.objects.filter(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT).update(assigned_to=holder)
    sweep.run_sync(referral.submitted_at + 14 * WEEK + timedelta(minutes=1))
    assert list(clock_notes().values_list("recipient__username", flat=True)) == ["dr_neuro_two"]


def test_a_case_in_imaging_with_no_neurology_item_tells_the_neurology_queue(pathway, neurologist):
    referral = pathway.scheduled()
    sweep.run_sync(referral.submitted_at + 14 * WEEK + timedelta(minutes=1))
    assert list(clock_notes().values_list("recipient__username", flat=True)) == ["dr_neuro"]


def test_the_breach_escalates_to_neurology_and_from_the_second_escalation_also_to_an_admin(
    pathway, neurologist, admin_user
):
    referral = pathway.triaged()
    sweep.run_sync(breach(referral))
    assert clock_notes(kind=TimerKind.CLOCK_ESCALATION, recipient=neurologist).count() == 1
    assert not clock_notes(recipient=admin_user).exists()
    sweep.run_sync(breach(referral) + WEEK)
    assert clock_notes(kind=TimerKind.CLOCK_ESCALATION, recipient=neurologist).count() == 2
    assert clock_notes(kind=TimerKind.CLOCK_ESCALATION, recipient=admin_user).count() == 1
    levels = [e.data["level"] for e in clock_events(referral, TimerKind.CLOCK_ESCALATION)]
    assert levels == [1, 2]
    assert any(m.subject.startswith("Breached (escalation 2)") for m in mail.outbox)


def test_a_breached_clock_escalates_once_a_week_not_once_per_sweep(pathway):
    referral = pathway.triaged()
    for days in range(0, 20):  # a sweep every day for almost three weeks after the breach
        sweep.run_sync(breach(referral) + timedelta(days=days))
    assert clock_events(referral, TimerKind.CLOCK_ESCALATION).count() == 3


def test_a_late_sweep_sends_one_clock_escalation_not_a_flood(pathway):
    referral = pathway.triaged()
    sweep.run_sync(breach(referral) + 10 * WEEK)
    assert clock_events(referral, TimerKind.CLOCK_ESCALATION).count() == 1


def test_a_reminder_a_late_sweep_finds_after_the_breach_is_dropped_for_the_escalation(pathway):
    referral = pathway.triaged()
    sweep.run_sync(breach(referral) + timedelta(days=1))  # the sweep was down from week 13 to week 18
    assert not clock_notes(kind=TimerKind.CLOCK_REMINDER).exists()
    assert clock_notes(kind=TimerKind.CLOCK_ESCALATION).count() == 1
    assert set(clock_timers(referral, kind=TimerKind.CLOCK_REMINDER).values_list("state", flat=True)) == {
        TimerState.CANCELLED
    }


@pytest.mark.parametrize("hours_before", [672, 336, 24])
def test_a_clock_reminder_filled_in_from_its_shape_reads_exactly_as_a_full_render(hours_before):
    fixed = {"step": "Referral to conclusion (18-week standard)", "level": 1, "hours_before": hours_before}
    for i in range(3):
        varying = {
            "reference": f"CP-{i:06d}",
            "initials": "O'B",
            "due_at": notifications.local(timezone.now() + timedelta(days=i, minutes=7 * i)),
            "link": f"http://x/cases/{i}/",
            "note": "",
        }
        name = "email/case_clock_reminder.txt"
        assert render_text(name, fixed=fixed, varying=varying) == render_to_string(name, fixed | varying).strip()


# --- stopping -----------------------------------------------------------------------------------------
def test_concluding_the_case_cancels_its_clock_and_nothing_fires(pathway):
    referral = pathway.concluded()
    assert set(clock_timers(referral).values_list("state", flat=True)) == {TimerState.CANCELLED}
    sweep.run_sync(breach(referral) + 2 * WEEK)
    assert not clock_notes().exists() and not clock_events(referral, TimerKind.CLOCK_ESCALATION).exists()


def test_cancelling_the_case_cancels_its_clock_and_nothing_fires(pathway, neurologist):
    referral = pathway.imaging()
    services.referral_cancel(referral_id=referral.pk, actor=neurologist, reason="Family moved away.")
    assert not clock_timers(referral, state=TimerState.PENDING).exists()
    sweep.run_sync(breach(referral) + 2 * WEEK)
    assert not clock_notes().exists()


def test_a_declined_referral_never_runs_a_clock(pathway, neurologist):
    referral = pathway.submitted()
    services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="Myokymia.", advice="Reassure.")
    sweep.run_sync(breach(referral) + WEEK)
    assert not clock_timers(referral).exists() and not clock_notes().exists()


def test_a_clock_timer_claimed_just_before_the_case_concluded_is_cancelled_when_it_fires(pathway, neurologist):
    referral = pathway.results_review()
    reminder = clock_timers(referral, kind=TimerKind.CLOCK_REMINDER).first()
    Timer.objects.filter(pk=reminder.pk).update(state=TimerState.FIRED, fired_at=timezone.now())  # claimed, then…
    services.referral_conclude(referral_id=referral.pk, actor=neurologist, **factories.CONCLUSION)  # …concluded
    sweep.fire_batch([reminder.pk])
    reminder.refresh_from_db()
    assert reminder.state == TimerState.CANCELLED and not clock_notes().exists()


# --- cost -----------------------------------------------------------------------------------------------
def due_clock_timers(pathway, cases: int) -> list[int]:
    """Each case's three clock timers made due now."""
    ids = []
    for _ in range(cases):
        referral = pathway.triaged()
        clock_timers(referral).update(due_at=timezone.now() - timedelta(minutes=1))
        ids += list(clock_timers(referral).values_list("pk", flat=True))
    return ids


def test_firing_clock_timers_costs_the_same_queries_for_one_case_as_for_six(pathway):
    sweep.fire_batch(due_clock_timers(pathway, 1))  # warm the per-process caches (SLA policies, system user)
    few, many = due_clock_timers(pathway, 1), due_clock_timers(pathway, 6)
    assert queries_to_fire(few) == queries_to_fire(many)
    # per case: the later reminder and the escalation fire; the earlier reminder is superseded
    assert Timer.objects.filter(pk__in=few + many, state=TimerState.DONE).count() == 14
    assert Timer.objects.filter(pk__in=few + many, state=TimerState.CANCELLED).count() == 7


def due_step_reminders(pathway, n: int) -> list[int]:
    referral = pathway.triaged()
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT)
    return due_reminders_on(item, n, "mixed")


def test_a_batch_of_step_and_clock_timers_costs_the_same_queries_whatever_its_size(pathway):
    sweep.fire_batch(due_step_reminders(pathway, 1) + due_clock_timers(pathway, 1))  # warm the caches
    few = due_step_reminders(pathway, 1) + due_clock_timers(pathway, 1)
    many = due_step_reminders(pathway, 20) + due_clock_timers(pathway, 4)
    assert queries_to_fire(few) == queries_to_fire(many)
