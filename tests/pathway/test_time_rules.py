"""Times that cannot contradict each other (issue 13 item 4): each rule refuses in the service with
a `RuleBroken` naming the field, and a refusal changes nothing (state, version, events, audit)."""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent
from carepath.pathway.errors import RuleBroken
from imaging import services as imaging
from imaging.models import Appointment, MRIRequest
from referrals import services
from referrals.models import Patient, Referral
from tests import factories as f


@contextmanager
def clock(moment):
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def snapshot(referral_id: int) -> tuple:
    """Everything a refused action must leave as it was."""
    referral = Referral.objects.get(pk=referral_id)
    mris = list(MRIRequest.objects.filter(referral_id=referral_id).values_list("state", "version", "performed_at"))
    appointments = list(Appointment.objects.filter(mri_request__referral_id=referral_id).values_list("status", "start"))
    return (
        referral.state,
        referral.version,
        mris,
        appointments,
        CaseEvent.objects.filter(referral_id=referral_id).count(),
        AuditLog.objects.count(),
    )


def local_at(days: int, hour: int):
    """An aware time `days` from today at `hour`:00 local time."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, hour))


def booked(pathway, start):
    """A case whose MRI is booked for `start`."""
    case = pathway.protocoled()
    mri = pathway.mri(case)
    imaging.mri_schedule(mri_request_id=mri.pk, actor=pathway.coord, scheduled_start=start, location="Scanner 1")
    return case, pathway.mri(case)


def perform(pathway, mri, performed_at, reason=""):
    return imaging.mri_mark_performed(
        mri_request_id=mri.pk,
        actor=pathway.coord,
        accession_number=f"T{mri.pk}",
        performed_at=performed_at,
        early_scan_reason=reason,
    )


# --- scan performed ------------------------------------------------------------------------------
def test_a_scan_dated_before_the_mri_was_requested_is_refused_even_with_an_early_scan_reason(pathway):
    case, mri = booked(pathway, local_at(3, 10))
    before = snapshot(case.pk)

    with pytest.raises(RuleBroken) as refused:
        perform(pathway, mri, mri.requested_at - timedelta(hours=1), reason="Scanned early")

    assert "performed_at" in refused.value.errors and refused.value.status == 422
    assert snapshot(case.pk) == before


def test_a_scan_on_a_day_before_its_appointment_is_refused_without_an_early_scan_reason(pathway):
    case, mri = booked(pathway, local_at(3, 10))
    before = snapshot(case.pk)

    with pytest.raises(RuleBroken) as refused:
        perform(pathway, mri, timezone.now())

    assert "early-scan reason" in refused.value.errors["performed_at"][0]
    assert snapshot(case.pk) == before


def test_an_early_scan_with_a_documented_reason_is_recorded_with_it(pathway):
    case, mri = booked(pathway, local_at(3, 10))

    perform(pathway, mri, timezone.now(), reason="A slot came free on Monday's list.")

    mri.refresh_from_db()
    assert (mri.state, mri.early_scan_reason) == ("performed", "A slot came free on Monday's list.")
    event = CaseEvent.objects.filter(referral=case, transition="mark_performed").get()
    assert event.data["early_scan_reason"] == "A slot came free on Monday's list."


def test_a_scan_on_its_appointment_day_is_accepted_even_before_the_booked_time(pathway):
    start = local_at(3, 15)
    case, mri = booked(pathway, start)

    with clock(start + timedelta(hours=1)):
        perform(pathway, mri, start - timedelta(hours=5))  # 10:00 on the same day

    mri.refresh_from_db()
    assert mri.state == "performed" and mri.early_scan_reason == ""


def test_a_scan_in_the_future_is_refused(pathway):
    case, mri = booked(pathway, local_at(3, 10))
    with pytest.raises(RuleBroken) as refused:
        perform(pathway, mri, timezone.now() + timedelta(hours=2), reason="x")
    assert "future" in refused.value.errors["performed_at"][0]


# --- was not brought -----------------------------------------------------------------------------
def test_was_not_brought_before_the_appointment_starts_is_refused_and_changes_nothing(pathway):
    start = local_at(3, 10)
    case, mri = booked(pathway, start)
    before = snapshot(case.pk)

    with clock(start - timedelta(minutes=1)), pytest.raises(RuleBroken) as refused:
        imaging.mri_record_was_not_brought(mri_request_id=mri.pk, actor=pathway.coord)

    assert "has not started yet" in refused.value.detail
    assert snapshot(case.pk) == before


def test_was_not_brought_from_the_appointment_time_on_is_recorded(pathway):
    start = local_at(3, 10)
    case, mri = booked(pathway, start)

    with clock(start):
        imaging.mri_record_was_not_brought(mri_request_id=mri.pk, actor=pathway.coord)

    assert MRIRequest.objects.get(pk=mri.pk).state == "needs_rebooking"


# --- booking ---------------------------------------------------------------------------------------
def test_booking_an_appointment_in_the_past_is_refused_and_changes_nothing(pathway):
    case = pathway.protocoled()
    mri = pathway.mri(case)
    before = snapshot(case.pk)

    with pytest.raises(RuleBroken) as refused:
        imaging.mri_schedule(
            mri_request_id=mri.pk,
            actor=pathway.coord,
            scheduled_start=timezone.now() - timedelta(hours=1),
            location="Scanner 1",
        )

    assert "in the future" in refused.value.errors["scheduled_start"][0]
    assert snapshot(case.pk) == before


def test_rebooking_into_the_past_is_refused_and_keeps_the_booking(pathway):
    case, mri = booked(pathway, local_at(3, 10))
    before = snapshot(case.pk)

    with pytest.raises(RuleBroken):
        imaging.mri_reschedule(
            mri_request_id=mri.pk,
            actor=pathway.coord,
            scheduled_start=timezone.now() - timedelta(days=1),
            reason="Family asked",
        )

    assert snapshot(case.pk) == before


def test_a_booking_for_the_current_minute_is_accepted(pathway):
    case = pathway.protocoled()
    mri = pathway.mri(case)
    start = timezone.now().replace(second=0, microsecond=0)
    imaging.mri_schedule(mri_request_id=mri.pk, actor=pathway.coord, scheduled_start=start, location="Scanner 1")
    assert MRIRequest.objects.get(pk=mri.pk).state == "scheduled"


# --- birth date, age and onset -------------------------------------------------------------------
def test_a_birth_date_in_the_future_is_refused_and_no_patient_is_made(pediatrician):
    with pytest.raises(RuleBroken) as refused:
        f.make_patient(pediatrician, birth_date=timezone.localdate() + timedelta(days=1))
    assert "birth_date" in refused.value.errors
    assert not Patient.objects.exists() and not AuditLog.objects.exists()


def test_referring_someone_18_or_over_needs_a_reason(pediatrician):
    today = timezone.localdate()
    patient = f.make_patient(pediatrician, birth_date=today.replace(year=today.year - 18))
    audits = AuditLog.objects.count()

    with pytest.raises(RuleBroken) as refused:
        f.make_referral(pediatrician, patient=patient)

    assert "18 years old" in refused.value.errors["over_18_reason"][0]
    assert not Referral.objects.exists() and not CaseEvent.objects.exists()
    assert AuditLog.objects.count() == audits


def test_someone_18_or_over_is_referred_with_a_reason(pediatrician):
    patient = f.make_patient(pediatrician, birth_date=timezone.localdate() - timedelta(days=365 * 30))
    referral = f.make_referral(
        pediatrician, patient=patient, over_18_reason="Still under our care: learning disability."
    )
    assert referral.over_18_reason.startswith("Still under our care")


def test_a_child_the_day_before_the_18th_birthday_needs_no_reason(pediatrician):
    today = timezone.localdate()
    birth = today.replace(year=today.year - 18) + timedelta(days=1)
    referral = f.make_referral(pediatrician, patient=f.make_patient(pediatrician, birth_date=birth))
    assert referral.state == "submitted"


def test_symptom_onset_before_birth_is_refused_and_nothing_is_made(pediatrician):
    patient = f.make_patient(pediatrician)
    with pytest.raises(RuleBroken) as refused:
        f.make_referral(pediatrician, patient=patient, symptom_onset=patient.birth_date - timedelta(days=1))
    assert "symptom_onset" in refused.value.errors
    assert not Referral.objects.exists()


def test_a_resubmitted_onset_before_birth_is_refused_and_changes_nothing(pediatrician, neurologist):
    referral = f.make_referral(pediatrician)
    services.referral_return_to_referrer(referral_id=referral.pk, actor=neurologist, reason="When did it start?")
    before = snapshot(referral.pk)

    with pytest.raises(RuleBroken):
        services.referral_resubmit(
            referral_id=referral.pk,
            actor=pediatrician,
            response="Earlier than we said.",
            symptom_onset=referral.patient.birth_date - timedelta(days=30),
        )

    assert snapshot(referral.pk) == before
