"""MDT meetings: the list, signed decisions that never change, the steps they open, and who may do what."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway.errors import Forbidden, InvalidData, TransitionNotAllowed
from referrals.mdt import services as mdt
from referrals.mdt.models import MDTDecision
from referrals.models import Referral

pytestmark = pytest.mark.django_db


def test_neurology_puts_a_case_on_the_list_with_its_question_on_the_timeline(on_list, reviewed):
    event = CaseEvent.objects.filter(referral=reviewed, transition="mdt_case_added").get()
    assert "Compression on MRI: MVD or toxin?" in event.data["label"]
    assert AuditLog.objects.filter(object_type="referrals.mdtcase", object_id=str(on_list.pk)).exists()


def test_a_case_goes_on_a_meetings_list_only_once(on_list, meeting, reviewed, neurologist):
    with pytest.raises(TransitionNotAllowed, match="already on this meeting's list"):
        mdt.meeting_add_case(meeting_id=meeting.pk, referral_id=reviewed.pk, actor=neurologist, question="Again?")


def test_only_neurology_adds_a_case(meeting, reviewed, neurosurgeon, pediatrician):
    for user in (neurosurgeon, pediatrician):
        with pytest.raises(Forbidden, match="Only neurologist may put a case on an MDT list"):
            mdt.meeting_add_case(meeting_id=meeting.pk, referral_id=reviewed.pk, actor=user, question="Q?")


def test_a_toxin_decision_opens_the_treatment_step_for_neurology(on_list, neurologist, reviewed):
    decision = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin")
    item = WorkItem.objects.get(pk=decision.opened_items[0])
    assert (item.kind, item.queue, item.status) == (WorkItemKind.MDT_TREATMENT, "neurologist", "open")
    assert decision.signed_by == neurologist and decision.signed_at is not None
    assert CaseEvent.objects.filter(referral=reviewed, transition="mdt_decision").get().data["label"] == (
        "MDT decision: Botulinum toxin"
    )


def test_a_repeat_mri_decision_opens_an_mri_request_step_for_neurology(on_list, neurologist):
    decision = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="repeat_mri")
    assert WorkItem.objects.get(pk=decision.opened_items[0]).kind == WorkItemKind.MDT_REPEAT_MRI


def test_a_surgery_decision_refers_to_neurosurgery_through_the_cases_own_transition(on_list, neurologist, reviewed):
    decision = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="mvd_surgery")
    referral = Referral.objects.get(pk=reviewed.pk)
    assert decision.transition == "refer_neurosurgery" and referral.state == "neurosurgery"
    consult = WorkItem.objects.get(referral=referral, kind=WorkItemKind.NEUROSURGERY_CONSULT, status="open")
    assert consult.queue == "neurosurgeon"
    assert "Microvascular decompression surgery" in referral.consults.get().question


def test_other_needs_its_words(on_list, neurologist):
    with pytest.raises(InvalidData) as refused:
        mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="other")
    assert "other_text" in refused.value.errors


def test_a_signed_decision_cannot_be_changed_or_deleted(on_list, neurologist):
    decision = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="watchful_waiting")
    decision.outcome = "repeat_mri"
    with pytest.raises(PermissionDenied):
        decision.save()
    with pytest.raises(PermissionDenied):
        decision.delete()
    assert MDTDecision.objects.get(pk=decision.pk).outcome == "watchful_waiting"


def test_a_second_decision_is_refused_unless_it_corrects_the_signed_one(on_list, neurologist):
    mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="watchful_waiting")
    with pytest.raises(TransitionNotAllowed, match="sign a correction"):
        mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="repeat_mri")


def test_a_correction_is_a_new_signed_decision_linked_to_the_old_whose_open_steps_it_cancels(
    on_list, neurologist, neurosurgeon
):
    first = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="repeat_mri")
    fix = mdt.decision_sign(
        mdt_case_id=on_list.pk, actor=neurosurgeon, outcome="botulinum_toxin", corrects_id=first.pk, rationale="Typo"
    )
    assert fix.corrects_id == first.pk and mdt.current_decision(on_list) == fix
    assert WorkItem.objects.get(pk=first.opened_items[0]).status == WorkItemStatus.CANCELLED
    assert WorkItem.objects.get(pk=fix.opened_items[0]).kind == WorkItemKind.MDT_TREATMENT
    assert MDTDecision.objects.get(pk=first.pk).outcome == "repeat_mri"  # the original stands as signed


def test_a_correction_says_why(on_list, neurologist):
    first = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="repeat_mri")
    with pytest.raises(InvalidData) as refused:
        mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin", corrects_id=first.pk)
    assert "rationale" in refused.value.errors and mdt.current_decision(on_list) == first


def test_only_a_clinician_attending_signs(on_list, colleague, pediatrician, admin_user):
    with pytest.raises(Forbidden, match="attends this meeting"):
        mdt.decision_sign(mdt_case_id=on_list.pk, actor=colleague, outcome="repeat_mri")  # a neurologist, absent
    for user in (pediatrician, admin_user):
        with pytest.raises(Forbidden, match="may sign an MDT decision"):
            mdt.decision_sign(mdt_case_id=on_list.pk, actor=user, outcome="repeat_mri")
    assert not MDTDecision.objects.exists()


def test_decisions_wait_for_the_meeting(neurologist, site, reviewed):
    later = mdt.meeting_create(
        actor=neurologist, starts_at=timezone.now() + timedelta(days=2), site_id=site.pk, attendee_ids=[neurologist.pk]
    )
    entry = mdt.meeting_add_case(meeting_id=later.pk, referral_id=reviewed.pk, actor=neurologist, question="Q?")
    with pytest.raises(TransitionNotAllowed, match="not started yet"):
        mdt.decision_sign(mdt_case_id=entry.pk, actor=neurologist, outcome="repeat_mri")


def test_only_neurology_or_an_admin_plans_a_meeting(neurosurgeon, site):
    with pytest.raises(Forbidden):
        mdt.meeting_create(
            actor=neurosurgeon, starts_at=timezone.now(), site_id=site.pk, attendee_ids=[neurosurgeon.pk]
        )
