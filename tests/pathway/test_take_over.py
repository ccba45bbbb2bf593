"""Taking a step is honoured: acting on a step a colleague has taken needs a take-over, recorded
with both names (issue 13 item 8; carepath/pathway/ownership.py). Service, API and page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent, Machine, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import ownership, workitems
from carepath.pathway.errors import StepTaken
from carepath.pathway.roles import Role
from carepath.pathway.workflow import perform
from imaging.machine import MRI_MACHINE
from referrals import services
from referrals.machine import REFERRAL_MACHINE
from tests import factories

pytestmark = pytest.mark.django_db


def _triage_item(case) -> WorkItem:
    return WorkItem.objects.get(referral=case, kind=WorkItemKind.TRIAGE)


# --- service -------------------------------------------------------------------------------------
def test_acting_on_a_step_a_colleague_has_taken_is_refused_and_changes_nothing(pathway, colleague):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)

    with pytest.raises(StepTaken) as refused:
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")

    assert refused.value.status == 409
    assert refused.value.holder_name == "Ada Quinn"
    case.refresh_from_db()
    assert case.state == "submitted" and case.version == 1
    assert not CaseEvent.objects.filter(referral=case, kind=CaseEvent.Kind.TAKE_OVER).exists()


def test_taking_over_acts_and_records_both_names_on_the_timeline_and_in_the_audit(pathway, colleague):
    case = pathway.submitted()
    item = factories.claim_triage(colleague, case)

    perform(REFERRAL_MACHINE, case.pk, "triage", pathway.neuro, data={"priority": "routine"}, take_over=True)

    case.refresh_from_db()
    assert case.state == "triaged"
    event = CaseEvent.objects.get(referral=case, kind=CaseEvent.Kind.TAKE_OVER)
    assert event.actor == pathway.neuro
    assert event.data["from"] == "Ada Quinn"
    assert event.data["to"] == (pathway.neuro.get_full_name() or pathway.neuro.username)
    assert event.data["step"] == "Triage the referral" and event.data["action"] == "triage"
    triage = CaseEvent.objects.get(referral=case, transition="triage")
    assert (event.at, event.pk) < (triage.at, triage.pk)  # "took over", then what was done
    row = AuditLog.objects.get(
        object_type="carepath.workitem", object_id=str(item.pk), changes__taken_over_from="dr_colleague"
    )
    assert row.actor == pathway.neuro and row.changes["taken_over_by"] == pathway.neuro.username
    item.refresh_from_db()
    assert item.status == WorkItemStatus.DONE and item.assigned_to == pathway.neuro


def test_an_unclaimed_step_or_your_own_needs_no_take_over(pathway):
    unclaimed = pathway.submitted()
    services.referral_triage(referral_id=unclaimed.pk, actor=pathway.neuro, priority="routine")
    mine = pathway.submitted()
    factories.claim_triage(pathway.neuro, mine)
    services.referral_triage(referral_id=mine.pk, actor=pathway.neuro, priority="routine")

    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.TAKE_OVER).exists()


def test_a_self_loop_taken_over_leaves_the_step_with_the_new_holder(pathway, groups):
    other_coord = factories.UserFactory(
        role=Role.IMAGING_COORDINATOR, username="coord2", first_name="Bo", last_name="Li"
    )
    case = pathway.scheduled()
    mri = case.mri_requests.get()
    item = WorkItem.objects.get(mri_request=mri, kind=WorkItemKind.PERFORM_MRI, status=WorkItemStatus.OPEN)
    workitems.work_item_claim(work_item_id=item.pk, actor=other_coord)

    later = (timezone.now() + timedelta(days=12)).isoformat()
    data = {"scheduled_start": later, "reason": "The family asked for another day."}
    with pytest.raises(StepTaken):
        perform(MRI_MACHINE, mri.pk, "reschedule", pathway.coord, data=data)
    perform(MRI_MACHINE, mri.pk, "reschedule", pathway.coord, data=data, take_over=True)

    item.refresh_from_db()
    assert item.assigned_to == pathway.coord
    event = CaseEvent.objects.get(referral=case, kind=CaseEvent.Kind.TAKE_OVER)
    assert (event.machine, event.mri_request_id, event.data["from"]) == (Machine.MRI, mri.pk, "Bo Li")


def test_the_referrer_withdrawing_their_referral_is_not_a_take_over(pathway, colleague):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)

    services.referral_cancel(referral_id=case.pk, actor=pathway.ped, reason="Family moved away.")

    assert not CaseEvent.objects.filter(referral=case, kind=CaseEvent.Kind.TAKE_OVER).exists()


def test_an_admin_acting_on_a_taken_step_must_take_it_over_too(pathway, colleague, admin_user):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)

    with pytest.raises(StepTaken):
        services.referral_cancel(referral_id=case.pk, actor=admin_user, reason="Duplicate referral.")


def test_claiming_a_step_a_colleague_holds_is_a_take_over_too(pathway, colleague):
    case = pathway.submitted()
    item = factories.claim_triage(colleague, case)

    with pytest.raises(StepTaken):
        workitems.work_item_claim(work_item_id=item.pk, actor=pathway.neuro)
    workitems.work_item_claim(work_item_id=item.pk, actor=pathway.neuro, take_over=True)

    item.refresh_from_db()
    assert item.assigned_to == pathway.neuro
    event = CaseEvent.objects.get(referral=case, kind=CaseEvent.Kind.TAKE_OVER)
    assert event.data["from"] == "Ada Quinn" and event.data["action"] == "claim"


def test_system_transitions_never_wait_for_a_take_over(pathway, colleague, admin_user):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)

    # an admin would have to take the step over for a person's action, never for a system one
    ownership.guard("referral", case, REFERRAL_MACHINE.get("auto_close"), admin_user)
    with pytest.raises(StepTaken):
        ownership.guard("referral", case, REFERRAL_MACHINE.get("cancel"), admin_user)
