"""The referral's guards and its system transitions: a red flag's priority, concluding without an
MRI, a missed clinic visit, the severity scale, the acknowledgement window, a report before
imaging is complete, and cancelling a case with an open MRI (docs/design.md §3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.pathway.errors import InvalidData
from imaging.machine import MRI_MACHINE
from referrals.machine import REFERRAL_MACHINE
from tests import factories as f

pytestmark = pytest.mark.django_db

REPORT = {"findings": f.FINDINGS_NVC, "impression": "AICA loop at the REZ.", "category": "routine"}


def test_triage_with_red_flag_requires_asap(pediatrician, neurologist):
    referral = f.make_referral(pediatrician, red_flags=["papilloedema"])
    before = f.snapshot(referral.pk)

    with pytest.raises(InvalidData) as refused:
        REFERRAL_MACHINE.run("triage", pk=referral.pk, actor=neurologist, data={"priority": "urgent"})

    assert "priority" in refused.value.errors
    assert f.snapshot(referral.pk) == before


def test_triage_with_red_flag_accepts_another_priority_with_an_override_reason(pediatrician, neurologist):
    referral = f.make_referral(pediatrician, red_flags=["bilateral"])

    REFERRAL_MACHINE.run(
        "triage",
        pk=referral.pk,
        actor=neurologist,
        data={"priority": "urgent", "override_reason": "Bilateral since birth, stable, seen before."},
    )

    referral.refresh_from_db()
    assert (referral.state, referral.priority) == ("triaged", "urgent")


def test_conclude_from_assessed_requires_an_imaging_waived_reason(pathway):
    referral = pathway.assessed()
    with pytest.raises(InvalidData) as refused:
        REFERRAL_MACHINE.run("conclude", pk=referral.pk, actor=pathway.neuro, data=f.CONCLUSION)
    assert "imaging_waived_reason" in refused.value.errors

    REFERRAL_MACHINE.run(
        "conclude", pk=referral.pk, actor=pathway.neuro, data={**f.CONCLUSION, "imaging_waived_reason": "Typical tic."}
    )
    referral.refresh_from_db()
    assert referral.state == "concluded"


def test_was_not_brought_to_clinic_keeps_the_case_open_and_opens_a_review(pathway):
    referral = pathway.triaged()

    REFERRAL_MACHINE.run("record_was_not_brought", pk=referral.pk, actor=pathway.neuro, data={})

    referral.refresh_from_db()
    assert referral.state == "triaged" and referral.was_not_brought_count == 1
    assert referral.work_items.filter(status="open", kind="was_not_brought_review").count() == 1
    assert referral.work_items.get(status="open", is_primary=True).kind == "first_assessment"


def test_severity_score_above_the_scale_is_refused(pathway):
    referral = pathway.triaged()
    with pytest.raises(InvalidData) as refused:
        REFERRAL_MACHINE.run(
            "record_assessment",
            pk=referral.pk,
            actor=pathway.neuro,
            data={**f.ASSESSMENT, "severity": {"scale": "smc", "score": 7}},
        )
    assert "severity.score" in refused.value.errors


def test_auto_close_waits_for_the_acknowledgement_window(pathway, system_user):
    from referrals import services

    referral = pathway.concluded()
    with pytest.raises(InvalidData):
        services.referral_auto_close(referral_id=referral.pk, actor=system_user)

    services.referral_auto_close(referral_id=referral.pk, actor=system_user, now=timezone.now() + timedelta(days=15))

    referral.refresh_from_db()
    assert referral.state == "closed" and referral.loop_closed_unacknowledged


def test_imaging_complete_needs_a_signed_report(pathway, system_user):
    from referrals import services

    referral = pathway.performed()
    before = f.snapshot(referral.pk)
    with pytest.raises(InvalidData):
        services.referral_imaging_complete(referral_id=referral.pk, actor=system_user)
    assert f.snapshot(referral.pk) == before


def test_signing_the_report_moves_the_referral_to_results_review_on_commit(pathway, django_capture_on_commit_callbacks):
    referral = pathway.performed()
    mri = pathway.mri(referral)

    with django_capture_on_commit_callbacks(execute=True):
        MRI_MACHINE.run("sign_report", pk=mri.pk, actor=pathway.rad, data=REPORT)

    referral.refresh_from_db()
    assert referral.state == "results_review"
    assert referral.events.last().actor.username == "system"


def test_cancelling_the_case_cancels_its_open_mri_and_every_work_item(pathway):
    referral = pathway.scheduled()

    REFERRAL_MACHINE.run("cancel", pk=referral.pk, actor=pathway.neuro, data={"reason": "Moved away."})

    referral.refresh_from_db()
    assert referral.state == "cancelled"
    assert referral.mri_requests.get().state == "cancelled"
    assert not referral.work_items.filter(status="open").exists()
