"""Reminder wording is computed when the message is sent, and a late sweep sends one reminder per step
and kind (docs/timers.md, "What a reminder says")."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from carepath.models import Notification, Timer, TimerKind, TimerState, WorkItem, WorkItemKind
from carepath.notify.message_templates import duration_words
from carepath.timers import sweep

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(seconds=5), "1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(minutes=59, seconds=40), "1 hour"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2, minutes=10), "2 hours"),
        (timedelta(hours=24), "1 day"),
        (timedelta(hours=27), "1 day and 3 hours"),
        (timedelta(days=5, hours=2), "5 days"),
        (timedelta(days=28), "4 weeks"),
        (timedelta(weeks=1), "7 days"),
    ],
)
def test_a_time_span_reads_in_words_with_the_right_singular_or_plural(span, words):
    assert duration_words(span) == words


def triage(referral) -> WorkItem:
    return WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)


def reminder_to(user):
    return Notification.objects.get(recipient=user, kind=TimerKind.REMINDER)


def test_a_reminder_sent_late_says_how_long_is_actually_left_not_its_lead_time(pathway, neurologist):
    referral = pathway.submitted()
    due = triage(referral).due_at  # its reminder point is 24 hours before
    sweep.run_sync(due - timedelta(hours=2))  # the sweep was down for 22 hours
    note = reminder_to(neurologist)
    assert "(in about 2 hours)" in note.body and "24 hours" not in note.body
    (message,) = mail.outbox
    assert "(in about 2 hours)" in message.body and message.subject.startswith("Reminder:")


def test_a_reminder_with_one_hour_left_says_1_hour(pathway, neurologist):
    referral = pathway.submitted()
    sweep.run_sync(triage(referral).due_at - timedelta(minutes=61))
    assert "(in about 1 hour)" in reminder_to(neurologist).body


def test_a_reminder_sent_after_the_deadline_says_the_step_is_overdue_and_by_how_much(pathway, neurologist):
    referral = pathway.submitted()
    due = triage(referral).due_at
    sweep.run_sync(due + timedelta(hours=3))
    note = reminder_to(neurologist)
    assert note.subject.startswith("Overdue by 3 hours: Triage the referral")
    assert "is overdue by 3 hours" in note.body and "in about" not in note.body
    escalation = Notification.objects.get(recipient=neurologist, kind=TimerKind.ESCALATION)
    assert "overdue by 3 hours" in escalation.body


def test_after_downtime_a_step_gets_one_reminder_not_one_per_missed_reminder_point(pathway, neurologist):
    referral = pathway.triaged()  # a routine first assessment: reminders 168 and 24 hours before
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT)
    week_ahead, day_ahead = (item.timers.get(key=f"wi{item.pk}:remind:{h}h") for h in (168, 24))
    call_command("tick", "--now", (item.due_at - timedelta(hours=10)).isoformat(), "--force")
    (note,) = Notification.objects.filter(recipient=neurologist, kind=TimerKind.REMINDER, work_item=item)
    assert "(in about 10 hours)" in note.body
    week_ahead.refresh_from_db(), day_ahead.refresh_from_db()
    assert week_ahead.state == TimerState.CANCELLED and week_ahead.last_error.startswith("superseded")
    assert day_ahead.state == TimerState.DONE
    assert len([m for m in mail.outbox if m.subject.startswith("Reminder")]) == 1


def fire_alone(timer: Timer, now) -> None:
    Timer.objects.filter(pk=timer.pk).update(state=TimerState.FIRED, fired_at=now)
    sweep.fire_batch([timer.pk], now=now)


@pytest.mark.parametrize("order", ["earlier first", "later first"])
def test_due_reminders_of_one_step_split_between_sweeps_still_send_one_message(pathway, neurologist, order):
    """Two sweeps (or a retry) each holding one of the step's due reminders: whichever runs first,
    only the latest reminder goes out, and firing everything again changes nothing."""
    referral = pathway.triaged()
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT)
    week_ahead, day_ahead = (item.timers.get(key=f"wi{item.pk}:remind:{h}h") for h in (168, 24))
    now = item.due_at - timedelta(hours=5)
    pair = [week_ahead, day_ahead] if order == "earlier first" else [day_ahead, week_ahead]
    for timer in pair:
        fire_alone(timer, now)
    for timer in pair:  # retried: nothing more
        sweep.fire_batch([timer.pk], now=now)
    notes = Notification.objects.filter(kind=TimerKind.REMINDER, work_item=item)
    assert notes.count() == 1 and "(in about 5 hours)" in notes.get().body
    week_ahead.refresh_from_db()
    assert week_ahead.state == TimerState.CANCELLED


def test_a_reminder_on_time_still_goes_out_and_the_next_one_later_too(pathway, neurologist):
    referral = pathway.triaged()
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT)
    sweep.run_sync(item.due_at - timedelta(hours=167))
    sweep.run_sync(item.due_at - timedelta(hours=23))
    bodies = list(
        Notification.objects.filter(kind=TimerKind.REMINDER, work_item=item)
        .order_by("id")
        .values_list("body", flat=True)
    )
    assert len(bodies) == 2 and "(in about 7 days)" in bodies[0] and "(in about 23 hours)" in bodies[1]


def test_the_timeline_shows_one_reminder_after_downtime(pathway):
    from carepath.models import CaseEvent

    referral = pathway.triaged()
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.FIRST_ASSESSMENT)
    sweep.run_sync(item.due_at - timedelta(hours=1))
    events = CaseEvent.objects.filter(referral=referral, kind=CaseEvent.Kind.REMINDER, data__work_item=item.pk)
    assert events.count() == 1
