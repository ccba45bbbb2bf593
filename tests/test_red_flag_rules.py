"""Red flags and priorities (issue 13 item 3), in the services: a referral with a red flag is asap
unless a reason is given for a lower priority, at submission, resubmission and triage alike."""

import pytest

from carepath.models import AuditLog, CaseEvent
from carepath.pathway.errors import RuleBroken
from referrals import services
from referrals.models import Referral
from tests import factories as f


def test_a_red_flag_referral_asked_below_asap_without_a_reason_is_refused_and_nothing_is_made(pediatrician):
    patient = f.make_patient(pediatrician)
    audits = AuditLog.objects.count()

    with pytest.raises(RuleBroken) as refused:
        f.make_referral(pediatrician, patient=patient, red_flags=["papilloedema"], requested_priority="routine")

    assert refused.value.status == 422
    assert "ASAP" in refused.value.errors["requested_priority"][0]
    assert not Referral.objects.exists() and not CaseEvent.objects.exists()
    assert AuditLog.objects.count() == audits


def test_a_red_flag_referral_asked_below_asap_with_a_reason_keeps_the_reason(pediatrician):
    referral = f.make_referral(
        pediatrician,
        red_flags=["bilateral"],
        requested_priority="urgent",
        requested_priority_reason="Bilateral since birth, unchanged for years.",
    )
    assert (referral.requested_priority, referral.requested_priority_reason) == (
        "urgent",
        "Bilateral since birth, unchanged for years.",
    )
    created = CaseEvent.objects.get(referral=referral, kind="created")
    assert created.data["requested_priority_reason"] == "Bilateral since birth, unchanged for years."


def test_a_red_flag_referral_asked_as_asap_needs_no_reason(pediatrician):
    referral = f.make_referral(pediatrician, red_flags=["facial_weakness"], requested_priority="asap")
    assert referral.requested_priority == "asap"


def test_a_referral_without_red_flags_may_ask_for_any_priority(pediatrician):
    assert f.make_referral(pediatrician, requested_priority="routine").state == "submitted"


def test_a_resubmission_that_adds_a_red_flag_below_asap_is_refused_and_changes_nothing(pediatrician, neurologist):
    referral = f.make_referral(pediatrician)
    services.referral_return_to_referrer(referral_id=referral.pk, actor=neurologist, reason="Any weakness?")
    referral.refresh_from_db()
    events = CaseEvent.objects.filter(referral=referral).count()

    with pytest.raises(RuleBroken) as refused:
        services.referral_resubmit(
            referral_id=referral.pk, actor=pediatrician, response="Yes, new weakness.", red_flags=["facial_weakness"]
        )

    assert "requested_priority" in refused.value.errors
    after = Referral.objects.get(pk=referral.pk)
    assert (after.state, after.version, after.red_flags) == ("returned", referral.version, [])
    assert CaseEvent.objects.filter(referral=referral).count() == events


def test_triage_below_asap_of_a_red_flag_referral_without_a_reason_is_a_broken_rule(pediatrician, neurologist):
    referral = f.make_referral(pediatrician, red_flags=["papilloedema"])
    with pytest.raises(RuleBroken) as refused:
        services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")
    assert "priority" in refused.value.errors
    assert Referral.objects.get(pk=referral.pk).state == "submitted"


def test_the_mri_request_carries_the_red_flag_of_its_case(pathway):
    flagged = pathway.imaging(red_flags=["ataxia_gait_change"])
    plain = pathway.imaging()
    assert pathway.mri(flagged).red_flag is True
    assert pathway.mri(plain).red_flag is False
