"""Reassigning and snoozing a step, delegating while away (carepath/pathway/workitems_handover.py,
carepath/pathway/delegation.py; issue 18 item 3)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from carepath.models import (
    AuditLog,
    CaseEvent,
    Delegation,
    Notification,
    WorkItem,
    WorkItemKind,
    WorkItemReassignment,
)
from carepath.pathway import delegation, selectors, workitems_handover
from carepath.pathway.errors import Forbidden, TransitionNotAllowed, Unprocessable
from carepath.pathway.roles import Role
from carepath.timers import sweep
from tests import factories

pytestmark = pytest.mark.django_db


def triage_of(referral) -> WorkItem:
    return WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)


def in_worklist(user, item) -> bool:
    return selectors.worklist_for(user).filter(pk=item.pk).exists()


# --- reassign ----------------------------------------------------------------------------------
def test_a_step_given_to_a_named_colleague_keeps_its_history(referral, neurologist, colleague):
    item = triage_of(referral)

    workitems_handover.work_item_reassign(
        work_item_id=item.pk, actor=neurologist, to="dr_colleague", reason="She runs the tic clinic."
    )

    item.refresh_from_db()
    assert item.assigned_to == colleague
    row = WorkItemReassignment.objects.get(work_item=item)
    assert (row.from_user, row.to_user, row.by, row.reason) == (
        None,
        colleague,
        neurologist,
        "She runs the tic clinic.",
    )
    event = CaseEvent.objects.get(referral=referral, kind=CaseEvent.Kind.REASSIGNED)
    assert event.data["to"] == "Ada Quinn" and event.data["reason"] == "She runs the tic clinic."
    assert AuditLog.objects.filter(object_type="carepath.workitem", object_id=str(item.pk), action="update").exists()
    assert Notification.objects.filter(recipient=colleague, kind="step_reassigned").exists()


def test_a_role_outside_the_steps_queue_may_not_give_it_away(referral, pediatrician, colleague):
    with pytest.raises(Forbidden):
        workitems_handover.work_item_reassign(
            work_item_id=triage_of(referral).pk, actor=pediatrician, to="dr_colleague", reason="x"
        )


def test_a_step_cannot_go_to_a_colleague_of_another_role(referral, neurologist, coordinator):
    with pytest.raises(Unprocessable) as refused:
        workitems_handover.work_item_reassign(
            work_item_id=triage_of(referral).pk, actor=neurologist, to="coord", reason="x"
        )
    assert "is not a neurologist" in refused.value.errors["to"][0]


def test_a_step_cannot_go_to_someone_who_may_not_see_the_case(pathway, other_pediatrician):
    from referrals import services

    case = pathway.submitted()
    services.referral_return_to_referrer(referral_id=case.pk, actor=pathway.neuro, reason="Which side?")
    answer = WorkItem.objects.get(referral=case, kind=WorkItemKind.ANSWER_QUERY)

    with pytest.raises(Unprocessable, match="may not see this case"):
        workitems_handover.work_item_reassign(
            work_item_id=answer.pk, actor=pathway.ped, to="dr_other_ped", reason="On leave."
        )


def test_a_finished_step_cannot_be_given_away(pathway, colleague):
    case = pathway.triaged()
    with pytest.raises(TransitionNotAllowed):
        workitems_handover.work_item_reassign(
            work_item_id=triage_of(case).pk, actor=pathway.neuro, to="dr_colleague", reason="x"
        )


# --- snooze ------------------------------------------------------------------------------------
def test_a_snoozed_step_leaves_my_work_and_comes_back_when_its_time_comes(referral, neurologist):
    item = triage_of(referral)
    workitems_handover.work_item_snooze(
        work_item_id=item.pk, actor=neurologist, until=timezone.now() + timedelta(hours=3), reason="Awaiting video."
    )
    assert not in_worklist(neurologist, item)

    WorkItem.objects.filter(pk=item.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))  # time passes

    assert in_worklist(neurologist, item)


def test_snoozing_an_unclaimed_step_makes_it_yours_so_it_comes_back_to_someone(referral, neurologist, colleague):
    item = workitems_handover.work_item_snooze(
        work_item_id=triage_of(referral).pk, actor=neurologist, until=timezone.now() + timedelta(hours=3)
    )
    assert item.assigned_to == neurologist and not in_worklist(colleague, item)


def test_the_escalation_fires_while_a_step_is_snoozed(referral, neurologist):
    item = triage_of(referral)
    workitems_handover.work_item_snooze(
        work_item_id=item.pk, actor=neurologist, until=timezone.now() + timedelta(days=29)
    )

    sweep.run_sync(item.due_at + timedelta(hours=1))

    assert CaseEvent.objects.filter(referral=referral, kind=CaseEvent.Kind.ESCALATION).count() == 1
    assert Notification.objects.filter(recipient=neurologist, kind="escalation").exists()
    item.refresh_from_db()
    assert item.snoozed_until is not None  # still snoozed: the clock did not stop, nor did the snooze


def test_a_snooze_in_the_past_or_beyond_thirty_days_is_refused(referral, neurologist):
    for until in (timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(days=31)):
        with pytest.raises(Unprocessable) as refused:
            workitems_handover.work_item_snooze(work_item_id=triage_of(referral).pk, actor=neurologist, until=until)
        assert list(refused.value.errors) == ["until"]


def test_only_the_holder_may_snooze_a_claimed_step(referral, neurologist, colleague):
    factories.claim_triage(colleague, referral)
    with pytest.raises(Forbidden):
        workitems_handover.work_item_snooze(
            work_item_id=triage_of(referral).pk, actor=neurologist, until=timezone.now() + timedelta(hours=1)
        )


# --- delegate ----------------------------------------------------------------------------------
def away(delegator, delegate, *, starts_at, ends_at) -> Delegation:
    today = timezone.localdate()
    return Delegation.objects.create(
        delegator=delegator,
        delegate=delegate,
        role=Role.NEUROLOGIST,
        starts_on=today,
        ends_on=today,
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=timezone.now(),
    )


def test_a_delegation_shows_the_delegators_steps_in_the_delegates_work(referral, neurologist, colleague):
    item = factories.claim_triage(neurologist, referral)
    delegation.delegation_create(
        actor=neurologist, to="dr_colleague", starts_on=timezone.localdate(), ends_on=timezone.localdate()
    )
    assert in_worklist(colleague, item) and in_worklist(neurologist, item)


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (timedelta(seconds=-5), timedelta(seconds=5), True),  # inside the window
        (timedelta(seconds=5), timedelta(hours=5), False),  # not started yet
        (timedelta(hours=-5), timedelta(seconds=-5), False),  # ended
        (timedelta(hours=-5), timedelta(0), False),  # the end is exclusive: the day after the last day
    ],
)
def test_delegate_window_boundaries(referral, neurologist, colleague, start, end, shown):
    item = factories.claim_triage(neurologist, referral)
    now = timezone.now()
    away(neurologist, colleague, starts_at=now + start, ends_at=now + end)

    assert in_worklist(colleague, item) is shown


def test_the_window_runs_from_the_first_days_local_midnight_to_the_end_of_the_last_day(settings):
    settings.TIME_ZONE = "Europe/London"
    start, end = delegation.day_bounds(date(2026, 7, 1), date(2026, 7, 3))  # summer time: UTC+1
    assert start == datetime(2026, 6, 30, 23, 0, tzinfo=ZoneInfo("UTC"))
    assert end == datetime(2026, 7, 3, 23, 0, tzinfo=ZoneInfo("UTC"))


def test_a_delegation_ended_early_stops_showing(referral, neurologist, colleague):
    item = factories.claim_triage(neurologist, referral)
    made = delegation.delegation_create(
        actor=neurologist, to="dr_colleague", starts_on=timezone.localdate(), ends_on=timezone.localdate()
    )
    delegation.delegation_end(delegation_id=made.pk, actor=neurologist)
    assert not in_worklist(colleague, item)


def test_a_pediatrician_may_not_delegate(pediatrician, other_pediatrician):
    with pytest.raises(Forbidden):
        delegation.delegation_create(
            actor=pediatrician, to="dr_other_ped", starts_on=timezone.localdate(), ends_on=timezone.localdate()
        )


def test_a_delegation_to_another_role_or_with_dates_reversed_is_refused(neurologist, coordinator, colleague):
    today = timezone.localdate()
    with pytest.raises(Unprocessable, match="delegate to a colleague of your role"):
        delegation.delegation_create(actor=neurologist, to="coord", starts_on=today, ends_on=today)
    with pytest.raises(Unprocessable) as refused:
        delegation.delegation_create(
            actor=neurologist, to="dr_colleague", starts_on=today + timedelta(days=2), ends_on=today + timedelta(days=1)
        )
    assert list(refused.value.errors) == ["ends_on"]
