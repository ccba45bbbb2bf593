"""What must always hold is also enforced by the database, whatever code path writes."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from carepath.models import WorkItem
from imaging.models import MRIRequest
from referrals.models import Patient, Referral

from . import factories as f


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_an_mrn_belongs_to_one_patient(pediatrician):
    patient = f.make_patient(pediatrician)
    refused(
        lambda: Patient.objects.create(mrn=patient.mrn, given_name="B", family_name="C", birth_date=patient.birth_date)
    )


def test_a_state_outside_the_machine_is_refused(referral):
    refused(lambda: Referral.objects.filter(pk=referral.pk).update(state="limbo"))
    refused(lambda: Referral.objects.filter(pk=referral.pk).update(priority="whenever"))


def test_a_referral_has_at_most_one_open_mri_request(pathway):
    mri = pathway.mri(pathway.imaging())
    now = timezone.now()
    refused(
        lambda: MRIRequest.objects.create(
            referral_id=mri.referral_id,
            priority="routine",
            clinical_question="x",
            requested_by=mri.requested_by,
            requested_at=now,
            updated_at=now,
        )
    )


def test_a_case_has_at_most_one_open_primary_work_item_per_machine(referral):
    item = referral.work_items.get(status="open", is_primary=True)
    refused(
        lambda: WorkItem.objects.create(
            referral=referral, machine=item.machine, kind="triage", queue="neurologist", created_at=timezone.now()
        )
    )


def test_an_appointment_must_end_after_it_starts(pathway):
    appointment = pathway.mri(pathway.scheduled()).appointment
    refused(lambda: type(appointment).objects.filter(pk=appointment.pk).update(end=appointment.start))
