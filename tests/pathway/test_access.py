"""Who sees which case (carepath/pathway/access.py): the rules the API, UI and admin all use."""

import pytest

from carepath.pathway.roles import Role
from imaging.selectors import mri_requests_visible_to
from referrals.selectors import patients_visible_to, referrals_visible_to
from tests import factories as f


def visible(user):
    return set(referrals_visible_to(user).values_list("pk", flat=True))


@pytest.fixture
def cases(pathway, other_pediatrician):
    return {
        "mine_submitted": pathway.submitted(),
        "mine_imaging": pathway.imaging(),
        "mine_neurosurgery": pathway.neurosurgery(),
        "someone_elses": f.make_referral(other_pediatrician),
    }


def test_a_pediatrician_sees_only_the_cases_they_referred(cases, pediatrician, other_pediatrician):
    assert visible(pediatrician) == {cases[k].pk for k in ("mine_submitted", "mine_imaging", "mine_neurosurgery")}
    assert visible(other_pediatrician) == {cases["someone_elses"].pk}


def test_neurologists_and_admins_see_every_case(cases, neurologist, admin_user):
    everything = {c.pk for c in cases.values()}
    assert visible(neurologist) == everything
    assert visible(admin_user) == everything


def test_imaging_staff_see_only_cases_that_reached_imaging(cases, coordinator, neuroradiologist):
    expected = {cases["mine_imaging"].pk, cases["mine_neurosurgery"].pk}
    assert visible(coordinator) == expected
    assert visible(neuroradiologist) == expected
    assert {m.referral_id for m in mri_requests_visible_to(coordinator)} == expected


def test_neurosurgeons_see_only_cases_referred_to_them(cases, neurosurgeon):
    assert visible(neurosurgeon) == {cases["mine_neurosurgery"].pk}


def test_mri_requests_follow_their_case_for_everyone_else(cases, pediatrician, other_pediatrician, neurosurgeon):
    imaged = {cases["mine_imaging"].pk, cases["mine_neurosurgery"].pk}
    assert {m.referral_id for m in mri_requests_visible_to(pediatrician)} == imaged
    assert not mri_requests_visible_to(other_pediatrician).exists()
    assert {m.referral_id for m in mri_requests_visible_to(neurosurgeon)} == {cases["mine_neurosurgery"].pk}


def test_every_mri_request_marks_its_case_as_having_reached_imaging(cases):
    """What lets imaging staff see every MRI request without reading its case (access.mri_request_q)."""
    from imaging.models import MRIRequest

    assert MRIRequest.objects.count() == 2
    assert not MRIRequest.objects.filter(referral__mri_requested_at__isnull=True).exists()


def test_someone_without_a_role_sees_nothing(cases, outsider):
    assert visible(outsider) == set()
    assert not patients_visible_to(outsider).exists()
    assert not mri_requests_visible_to(outsider).exists()


def test_an_ehr_client_sees_the_referrals_it_sent(groups, pediatrician):
    ehr = f.user_with_role(Role.EHR_CLIENT, "ehr")
    patient = f.make_patient(ehr)
    sent = f.make_referral(ehr, patient=patient)
    f.make_referral(pediatrician)

    assert visible(ehr) == {sent.pk}


def test_a_pediatrician_sees_a_patient_they_registered_before_any_referral(pediatrician, other_pediatrician):
    patient = f.make_patient(pediatrician)

    assert list(patients_visible_to(pediatrician)) == [patient]
    assert not patients_visible_to(other_pediatrician).exists()


def test_allowed_transitions_show_only_what_the_user_may_do_now(pathway, other_pediatrician, coordinator):
    from referrals.machine import REFERRAL_MACHINE

    referral = pathway.submitted()
    assert REFERRAL_MACHINE.allowed_for(referral, pathway.neuro) == [
        "triage",
        "return_to_referrer",
        "decline",
        "cancel",
    ]
    assert REFERRAL_MACHINE.allowed_for(referral, pathway.ped) == ["cancel"]
    assert REFERRAL_MACHINE.allowed_for(referral, other_pediatrician) == []
    assert REFERRAL_MACHINE.allowed_for(referral, coordinator) == []
