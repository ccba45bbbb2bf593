"""What fired timers do: `sweep.run_sync(now)` is the sweep `manage.py tick` and beat run."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from carepath.models import (
    CaseEvent,
    Delivery,
    DeliveryState,
    Notification,
    Timer,
    TimerKind,
    TimerState,
    WorkItem,
    WorkItemKind,
)
from carepath.timers import sweep
from imaging import reports as imaging_reports
from referrals import services
from tests import factories

pytestmark = pytest.mark.django_db


def item(referral, kind):
    return WorkItem.objects.get(referral=referral, kind=kind)


def test_a_reminder_notifies_the_queue_and_appears_in_the_timeline(pathway, neurologist):
    referral = pathway.submitted()
    triage = item(referral, WorkItemKind.TRIAGE)
    sweep.run_sync(triage.due_at - timedelta(hours=23))
    note = Notification.objects.get(recipient=neurologist, referral=referral)
    assert note.kind == "reminder" and "Triage the referral" in note.subject
    assert CaseEvent.objects.filter(referral=referral, kind=CaseEvent.Kind.REMINDER).count() == 1


def test_the_reminder_email_names_the_child_by_initials_and_case_reference_only(pathway, neurologist):
    referral = pathway.submitted()
    sweep.run_sync(item(referral, WorkItemKind.TRIAGE).due_at - timedelta(hours=23))
    (message,) = mail.outbox
    assert f"CP-{referral.pk:06d}" in message.subject and "(AM)" in message.subject
    assert "Morgan" not in message.subject + message.body and f"/cases/{referral.pk}/" in message.body
    assert message.to == [neurologist.email]


def test_running_the_sweep_twice_sends_nothing_twice(pathway):
    referral = pathway.submitted()
    at = item(referral, WorkItemKind.TRIAGE).due_at - timedelta(hours=23)
    sweep.run_sync(at)
    sweep.run_sync(at)
    assert Notification.objects.filter(referral=referral).count() == 1 and len(mail.outbox) == 1


def test_an_overdue_item_escalates_once_per_interval_not_once_per_sweep(pathway):
    referral = pathway.submitted()
    due = item(referral, WorkItemKind.TRIAGE).due_at
    for minutes in range(0, 60 * 6, 30):  # a sweep every half hour for six hours
        sweep.run_sync(due + timedelta(minutes=minutes))
    escalations = CaseEvent.objects.filter(referral=referral, kind=CaseEvent.Kind.ESCALATION)
    assert escalations.count() == 1  # routine triage escalates every 24 h


def test_a_late_sweep_sends_one_escalation_not_a_flood(pathway):
    referral = pathway.submitted()
    sweep.run_sync(item(referral, WorkItemKind.TRIAGE).due_at + timedelta(days=10))
    assert CaseEvent.objects.filter(referral=referral, kind=CaseEvent.Kind.ESCALATION).count() == 1


def test_the_second_escalation_also_tells_an_admin(pathway, admin_user, neurologist):
    referral = pathway.submitted()
    due = item(referral, WorkItemKind.TRIAGE).due_at
    sweep.run_sync(due)
    assert not Notification.objects.filter(recipient=admin_user).exists()
    sweep.run_sync(due + timedelta(hours=25))
    assert Notification.objects.filter(recipient=admin_user, kind="escalation").count() == 1
    assert Notification.objects.filter(recipient=neurologist, kind="escalation").count() == 2


def test_a_claimed_item_reminds_only_its_owner(pathway, neurologist):
    other = factories.user_with_role("neurologist", "dr_neuro_two")
    referral = pathway.submitted()
    triage = item(referral, WorkItemKind.TRIAGE)
    triage.assigned_to = other
    triage.save()
    sweep.run_sync(triage.due_at - timedelta(hours=23))
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["dr_neuro_two"]


def test_a_timer_of_a_finished_step_is_cancelled_not_fired(pathway, neurologist):
    referral = pathway.submitted()
    triage = item(referral, WorkItemKind.TRIAGE)
    reminder = Timer.objects.get(work_item=triage, kind=TimerKind.REMINDER)
    Timer.objects.filter(pk=reminder.pk).update(state=TimerState.FIRED, fired_at=timezone.now())  # claimed, then…
    services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")  # …the step is done
    sweep.fire_batch([reminder.pk])
    reminder.refresh_from_db()
    assert reminder.state == TimerState.CANCELLED and not Notification.objects.exists()


def test_a_missed_mri_is_flagged_and_a_review_opened_without_closing_the_case(pathway):
    referral = pathway.scheduled()
    mri = pathway.mri(referral)
    sweep.run_sync(mri.appointment.end + timedelta(hours=3))
    mri.refresh_from_db()
    referral.refresh_from_db()
    assert mri.state == "needs_rebooking" and referral.state == "imaging"
    assert WorkItem.objects.filter(referral=referral, kind=WorkItemKind.WAS_NOT_BROUGHT_REVIEW, status="open").exists()
    assert CaseEvent.objects.filter(referral=referral, transition="flag_missed", actor__username="system").exists()


def test_an_mri_performed_in_time_is_not_flagged(pathway, coordinator):
    referral = pathway.performed()
    mri = pathway.mri(referral)
    sweep.run_sync(timezone.now() + timedelta(days=30))
    mri.refresh_from_db()
    assert mri.state == "performed"
    assert not Timer.objects.filter(kind=TimerKind.FLAG_MISSED, state=TimerState.DONE).exists()


def test_an_unacknowledged_outcome_closes_itself_after_the_window_flagged(pathway):
    referral = pathway.concluded()
    sweep.run_sync(referral.concluded_at + timedelta(days=14, minutes=1))
    referral.refresh_from_db()
    assert referral.state == "closed" and referral.loop_closed_unacknowledged


def test_the_referrer_is_reminded_to_acknowledge_after_five_working_days(pathway, pediatrician):
    referral = pathway.concluded()
    due = item(referral, WorkItemKind.ACKNOWLEDGE_OUTCOME).due_at
    sweep.run_sync(due + timedelta(minutes=1))
    assert Notification.objects.filter(recipient=pediatrician, kind="escalation", referral=referral).exists()


def test_family_reminders_give_the_fasting_cut_offs_as_local_clock_times(pathway):
    referral = pathway.scheduled(patient=None)
    mri = pathway.mri(referral)
    appointment = mri.appointment
    appointment.sedation = "general_anaesthesia"
    appointment.solids_until = appointment.start - timedelta(hours=6)
    appointment.milk_until = appointment.start - timedelta(hours=4)
    appointment.clear_fluids_until = appointment.start - timedelta(hours=1)
    appointment.save()
    sweep.run_sync(appointment.start - timedelta(days=1))
    local = timezone.localtime(appointment.solids_until)
    sms, email = (Delivery.objects.get(channel=c, guardian__isnull=False) for c in ("sms", "email"))
    assert f"{local:%H:%M}" in sms.body and "Alex" in sms.body and sms.state == DeliveryState.SENT
    assert email.to == "sam.carer@example.org"
    event = CaseEvent.objects.filter(referral=referral, transition="family_reminder").last()
    assert event.data["which"] == "t1" and event.data["fasting"]["solids_until"] == f"{local:%H:%M}"


def test_a_family_without_a_contact_becomes_one_task_for_the_coordinators(pathway, pediatrician, coordinator):
    patient = factories.make_patient(pediatrician, guardians=[{"name": "No Phone", "relationship": "father"}])
    referral = pathway.scheduled(patient=patient)
    start = pathway.mri(referral).appointment.start
    sweep.run_sync(start - timedelta(days=7))
    sweep.run_sync(start - timedelta(days=1))
    tasks = WorkItem.objects.filter(referral=referral, kind=WorkItemKind.GUARDIAN_CONTACT_MISSING)
    assert tasks.count() == 1 and tasks.get().queue == "imaging_coordinator"
    assert Notification.objects.filter(recipient=coordinator, work_item=tasks.get()).exists()
    assert not Timer.objects.filter(state__in=["fired", "dead"]).exists()


def test_a_critical_report_alerts_the_requesting_neurologist_at_once(
    pathway, neurologist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        referral = pathway.results_review(category="critical")
    alert = Notification.objects.get(recipient=neurologist, kind="alert")
    assert "critical or urgent MRI result" in alert.subject and alert.referral_id == referral.pk


def test_an_unacknowledged_critical_report_escalates_every_hour_to_neurology(pathway, neurologist):
    other = factories.user_with_role("neurologist", "dr_neuro_two")
    referral = pathway.results_review(category="critical")
    ack = item(referral, WorkItemKind.CRITICAL_RESULT_ACK)
    for minutes in (1, 61, 122):
        sweep.run_sync(ack.due_at + timedelta(minutes=minutes))
    assert Notification.objects.filter(recipient=neurologist, kind="escalation").count() == 3
    assert Notification.objects.filter(recipient=other, kind="escalation").count() == 2


def test_acknowledging_a_critical_report_stops_its_escalation(pathway, neurologist):
    referral = pathway.results_review(category="critical")
    ack = item(referral, WorkItemKind.CRITICAL_RESULT_ACK)
    imaging_reports.report_acknowledge(report_id=pathway.mri(referral).report.pk, actor=neurologist)
    sweep.run_sync(ack.due_at + timedelta(hours=5))
    assert not Notification.objects.filter(kind="escalation").exists()


def test_an_amended_report_notifies_whoever_read_it(
    pathway, neurologist, neuroradiologist, django_capture_on_commit_callbacks
):
    from carepath.pathway import audit

    referral = pathway.results_review()
    mri = pathway.mri(referral)
    reader = factories.user_with_role("neurologist", "dr_reader")
    audit.record_view(reader, referral)
    with django_capture_on_commit_callbacks(execute=True):
        imaging_reports.mri_amend_report(mri_request_id=mri.pk, actor=neuroradiologist, addendum="Also a small cyst.")
    told = set(Notification.objects.filter(kind="report_amended").values_list("recipient__username", flat=True))
    assert told == {"dr_reader", neurologist.username}


def test_a_failing_delivery_backs_off_and_ends_as_a_dead_letter(pathway, settings, monkeypatch):
    from carepath.notify import delivery as sending

    settings.CAREPATH_DELIVERY_MAX_ATTEMPTS = 3
    referral = pathway.submitted()
    monkeypatch.setattr(sending, "send", lambda d, c=None: (_ for _ in ()).throw(OSError("smtp down")))
    at = item(referral, WorkItemKind.TRIAGE).due_at - timedelta(hours=23)
    for hours in (0, 1, 2, 3):
        sweep.run_sync(at + timedelta(hours=hours))
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == 3 and "smtp down" in delivery.last_error
