"""The referrer is always told (issue 13, item 1): each outcome that concerns the referring
pediatrician gives them exactly one in-app notification and one e-mail, and nobody else one."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from carepath.models import Delivery, DeliveryState, Notification
from carepath.notify import notifications
from carepath.timers import sweep
from imaging import reports as imaging_reports
from imaging import services as imaging
from referrals import services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def watch(django_capture_on_commit_callbacks, other_pediatrician):
    """`watch(action)` runs `action()` with its on-commit effects (the e-mail task), then returns
    (the referrer notifications it wrote, the e-mails it sent)."""

    def run(action):
        before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        sent = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            action()
        new = list(Notification.objects.filter(pk__gt=before, kind__startswith="referrer_"))
        return new, mail.outbox[sent:]

    return run


def only_to(pediatrician, notes, emails, kind, *, alone=True):
    """The one referrer notification written, and its one e-mail (to the referrer only); `alone`:
    and no other e-mail went out (a critical result also alerts neurology; a sweep sends reminders)."""
    assert len(emails) == 1 or not alone
    (note,) = notes
    assert note.recipient == pediatrician and note.kind == kind
    (email,) = [m for m in emails if m.subject == note.subject]
    assert email.to == [pediatrician.email]
    return note, email


def test_a_declined_referral_tells_the_referrer_the_reason_and_advice_in_the_app_only(
    watch, pathway, pediatrician, neurologist
):
    referral = pathway.submitted()
    notes, emails = watch(
        lambda: services.referral_decline(
            referral_id=referral.pk, actor=neurologist, reason="Benign eyelid myokymia.", advice="Reassure; review."
        )
    )
    note, email = only_to(pediatrician, notes, emails, "referrer_declined")
    assert "Benign eyelid myokymia." in note.body and "Reassure; review." in note.body
    assert f"CP-{referral.pk:06d}" in email.subject and "declined" in email.subject.lower()
    # e-mail carries the minimum necessary: no clinical free text, no name, a link to sign in
    assert "myokymia" not in email.body and "Morgan" not in email.subject + email.body
    assert f"/cases/{referral.pk}/" in email.body


def test_a_question_from_neurology_tells_the_referrer(watch, pathway, pediatrician, neurologist):
    referral = pathway.submitted()
    notes, emails = watch(
        lambda: services.referral_return_to_referrer(
            referral_id=referral.pk, actor=neurologist, reason="Is the twitching present in sleep?"
        )
    )
    note, email = only_to(pediatrician, notes, emails, "referrer_returned")
    assert "present in sleep" in note.body and "present in sleep" not in email.body


def test_a_booked_mri_tells_the_referrer_the_date_and_local_time(watch, pathway, pediatrician, coordinator):
    referral = pathway.protocoled()
    start = (timezone.now() + timedelta(days=9)).replace(hour=9, minute=30, second=0, microsecond=0)
    notes, emails = watch(
        lambda: imaging.mri_schedule(
            mri_request_id=pathway.mri(referral).pk, actor=coordinator, scheduled_start=start, location="MRI 2"
        )
    )
    note, email = only_to(pediatrician, notes, emails, "referrer_mri_booked")
    local = timezone.localtime(start)
    assert f"{local:%H:%M}" in note.body and f"{local.day} " in note.body and "Europe/London" in note.body
    assert f"{local:%H:%M}" in email.body


def test_a_moved_mri_tells_the_referrer_the_new_time(watch, pathway, pediatrician, coordinator):
    referral = pathway.scheduled()
    start = (timezone.now() + timedelta(days=20)).replace(hour=14, minute=15, second=0, microsecond=0)
    notes, emails = watch(
        lambda: imaging.mri_reschedule(
            mri_request_id=pathway.mri(referral).pk, actor=coordinator, scheduled_start=start, reason="Scanner down"
        )
    )
    note, _ = only_to(pediatrician, notes, emails, "referrer_mri_booked")
    assert "moved" in note.subject and f"{timezone.localtime(start):%H:%M}" in note.body


@pytest.mark.parametrize("category", ["critical", "urgent"])
def test_a_critical_or_urgent_result_tells_the_referrer_that_neurology_has_it_not_what_it_says(
    watch, pathway, pediatrician, neuroradiologist, category
):
    referral = pathway.performed()
    notes, emails = watch(
        lambda: imaging_reports.mri_sign_report(
            mri_request_id=pathway.mri(referral).pk,
            actor=neuroradiologist,
            findings=factories.FINDINGS_NVC,
            impression="Left AICA indenting the root exit zone of CN VII.",
            category=category,
        )
    )
    note, email = only_to(pediatrician, notes, emails, "referrer_result_alert", alone=False)
    assert category in note.body and "neurology" in note.body
    assert "AICA" not in note.subject + note.body + email.body


def test_a_routine_result_does_not_message_the_referrer(watch, pathway, neuroradiologist):
    referral = pathway.performed()
    notes, emails = watch(
        lambda: imaging_reports.mri_sign_report(
            mri_request_id=pathway.mri(referral).pk,
            actor=neuroradiologist,
            findings=factories.FINDINGS_NVC,
            impression="Left AICA loop.",
            category="routine",
        )
    )
    assert notes == [] and emails == []


def test_a_concluded_case_gives_the_referrer_the_outcome_letter_in_the_app(watch, pathway, pediatrician, neurologist):
    referral = pathway.results_review()
    notes, emails = watch(
        lambda: services.referral_conclude(referral_id=referral.pk, actor=neurologist, **factories.CONCLUSION)
    )
    note, email = only_to(pediatrician, notes, emails, "referrer_concluded")
    assert factories.CONCLUSION["letter"] in note.body and "Botulinum toxin" in note.body
    assert "acknowledge" in email.body and factories.CONCLUSION["letter"] not in email.body


def test_an_auto_closed_case_tells_the_referrer_once_however_often_the_sweep_runs(
    watch, pathway, pediatrician, settings
):
    referral = pathway.concluded()
    later = referral.concluded_at + timedelta(days=settings.OUTCOME_AUTO_CLOSE_DAYS, hours=1)
    notes, emails = watch(lambda: (sweep.run_sync(later), sweep.run_sync(later)))
    note, _ = only_to(pediatrician, notes, emails, "referrer_auto_closed", alone=False)
    referral.refresh_from_db()
    assert referral.state == "closed" and "not acknowledged" in note.body


def test_an_ehr_referral_tells_the_named_pediatrician_not_the_ehr_client(watch, pediatrician, neurologist, groups):
    ehr = factories.user_with_role("ehr_client", "ehr")
    patient = factories.make_patient(ehr)
    referral = factories.make_referral(ehr, patient=patient, referred_by=pediatrician.pk)
    notes, _ = watch(
        lambda: services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="r", advice="a")
    )
    assert [n.recipient for n in notes] == [pediatrician]


def test_steps_that_do_not_concern_the_referrer_tell_them_nothing(watch, pathway, neurologist):
    referral = pathway.submitted()
    notes, emails = watch(
        lambda: services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")
    )
    assert notes == [] and emails == []


def test_telling_the_referrer_again_about_the_same_change_sends_nothing_twice(
    watch, pathway, pediatrician, neurologist
):
    referral = pathway.submitted()
    watch(lambda: services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="r", advice="a"))
    referral.refresh_from_db()
    key = f"referral{referral.pk}:v{referral.version}"
    notes, emails = watch(
        lambda: notifications.tell_referrer(referral, event="declined", key=key, context={"reason": "r", "advice": "a"})
    )
    assert notes == [] and emails == []
    assert Notification.objects.filter(recipient=pediatrician).count() == 1


def test_a_retried_delivery_task_never_sends_the_referrers_email_twice(watch, pathway, neurologist):
    from carepath.timers.tasks import deliver

    referral = pathway.submitted()
    watch(lambda: services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="r", advice="a"))
    sent = len(mail.outbox)
    deliver.apply(args=[list(Delivery.objects.values_list("pk", flat=True))])
    assert len(mail.outbox) == sent and set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_an_inactive_referrer_gets_no_email(watch, pathway, pediatrician, neurologist):
    referral = pathway.submitted()
    pediatrician.is_active = False
    pediatrician.save(update_fields=["is_active"])
    notes, emails = watch(
        lambda: services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="r", advice="a")
    )
    assert notes == [] and emails == []


def test_a_referral_cancelled_by_neurology_tells_the_referrer_why(watch, pathway, pediatrician, neurologist):
    referral = pathway.triaged()
    notes, emails = watch(
        lambda: services.referral_cancel(referral_id=referral.pk, actor=neurologist, reason="Seen privately.")
    )
    note, email = only_to(pediatrician, notes, emails, "referrer_cancelled")
    assert "Seen privately." in note.body and "Seen privately." not in email.body


def test_the_referrer_cancelling_their_own_referral_is_not_told_about_it(watch, pathway, pediatrician):
    referral = pathway.submitted()
    notes, emails = watch(
        lambda: services.referral_cancel(referral_id=referral.pk, actor=pediatrician, reason="Sent twice.")
    )
    assert notes == [] and emails == []


def test_a_booked_mri_that_is_cancelled_tells_the_referrer_the_date_no_longer_holds(
    watch, pathway, pediatrician, coordinator
):
    referral = pathway.scheduled()
    start = timezone.localtime(pathway.mri(referral).appointment.start)
    notes, emails = watch(
        lambda: imaging.mri_cancel(mri_request_id=pathway.mri(referral).pk, actor=coordinator, reason="Not needed.")
    )
    note, _ = only_to(pediatrician, notes, emails, "referrer_mri_cancelled")
    assert f"{start:%H:%M}" in note.body and "Not needed." in note.body


def test_an_mri_cancelled_before_it_was_booked_tells_the_referrer_nothing(watch, pathway, neurologist):
    referral = pathway.imaging()
    notes, emails = watch(
        lambda: imaging.mri_cancel(
            mri_request_id=referral.mri_requests.get().pk, actor=neurologist, reason="Changed plan."
        )
    )
    assert notes == [] and emails == []
