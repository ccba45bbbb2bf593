"""Reopening a closed case (referrals/reopen.py; the `reopen` transition of referrals/machine.py)."""

import pytest

from carepath.models import CaseEvent, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway.errors import Forbidden, TransitionNotAllowed
from referrals.machine import REFERRAL_MACHINE
from referrals.samples import CONCLUSION

pytestmark = pytest.mark.django_db


def reopen(case, actor, reason="Twitching is back, now with facial weakness."):
    return REFERRAL_MACHINE.run("reopen", pk=case.pk, actor=actor, data={"reason": reason})


def test_a_neurologist_reopens_a_closed_case_and_a_new_linked_step_opens(pathway):
    case = pathway.closed()
    last = WorkItem.objects.get(referral=case, kind=WorkItemKind.ACKNOWLEDGE_OUTCOME)

    reopened = reopen(case, pathway.neuro)

    assert reopened.state == "assessed" and reopened.closed_at is None
    step = WorkItem.objects.get(referral=case, status=WorkItemStatus.OPEN, is_primary=True)
    assert step.kind == WorkItemKind.DECIDE_NEXT_STEP and step.queue == "neurologist"
    assert step.follows_id == last.pk and "facial weakness" in step.note
    event = CaseEvent.objects.get(referral=case, transition="reopen")
    assert (event.from_state, event.to_state, event.data["follows"]) == ("closed", "assessed", last.pk)


def test_other_roles_may_not_reopen(pathway):
    case = pathway.closed()
    for actor in (pathway.ped, pathway.rad, pathway.surg):
        with pytest.raises(Forbidden):
            reopen(case, actor)


def test_only_a_closed_case_can_be_reopened(pathway):
    case = pathway.concluded()
    with pytest.raises(TransitionNotAllowed, match="allowed from: closed"):
        reopen(case, pathway.neuro)


def test_a_reopened_case_can_be_concluded_again(pathway):
    case = pathway.closed()
    reopen(case, pathway.neuro)

    concluded = REFERRAL_MACHINE.run(
        "conclude",
        pk=case.pk,
        actor=pathway.neuro,
        data={**CONCLUSION, "imaging_waived_reason": "The MRI of last month answers the question."},
    )

    assert concluded.state == "concluded"
    assert concluded.outcome.acknowledged_at is None
