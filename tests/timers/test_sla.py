from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carepath.models import Holiday, SLAPolicy, WorkItem, WorkItemKind
from carepath.pathway import sla

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.django_db


def test_the_seeded_policies_are_the_design_defaults_with_their_sources():
    seeded = {(p.kind, p.priority): (p.amount, p.unit, p.source) for p in SLAPolicy.objects.all()}
    expected = {(r["kind"], r["priority"]): (r["amount"], r["unit"], r["source"]) for r in sla.seed_rows()}
    assert seeded == expected and all(source for _, _, source in seeded.values())


def test_first_assessment_of_an_asap_referral_is_due_in_48_hours():
    start = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)
    assert sla.due_for(WorkItemKind.FIRST_ASSESSMENT, "asap", start) == start + timedelta(hours=48)


def test_working_days_skip_the_weekend():
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=LONDON)
    assert sla.due_for(WorkItemKind.TRIAGE, "urgent", friday) == datetime(2026, 3, 10, 10, 0, tzinfo=LONDON)


def test_working_days_skip_a_bank_holiday_from_the_calendar():
    thursday_before_easter = datetime(2026, 4, 2, 10, 0, tzinfo=LONDON)  # Good Friday 3rd, Easter Monday 6th
    due = sla.due_for(WorkItemKind.TRIAGE, "urgent", thursday_before_easter)
    assert due == datetime(2026, 4, 8, 10, 0, tzinfo=LONDON)


def test_an_added_holiday_moves_working_day_deadlines():
    monday = datetime(2030, 6, 3, 10, 0, tzinfo=LONDON)
    before = sla.due_for(WorkItemKind.TRIAGE, "urgent", monday)
    Holiday.objects.create(date=date(2030, 6, 4), name="Local holiday")
    assert sla.due_for(WorkItemKind.TRIAGE, "urgent", monday) == before + timedelta(days=1)


def test_an_admin_edit_of_a_policy_sets_the_due_date_of_new_work_items(pathway):
    SLAPolicy.objects.filter(kind=WorkItemKind.TRIAGE, priority="routine").update(amount=3, unit="days")
    sla.clear_cache()  # as post_save does after an admin's edit
    referral = pathway.submitted()
    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)
    assert item.due_at == referral.submitted_at + timedelta(days=3)


def test_saving_a_policy_clears_the_cache():
    policy = SLAPolicy.objects.get(kind=WorkItemKind.REPORT_MRI, priority="routine")
    sla.policy_for(WorkItemKind.REPORT_MRI, "routine")
    policy.amount = 5
    policy.save()
    assert sla.policy_for(WorkItemKind.REPORT_MRI, "routine").clock == sla.Clock(5, "days")


def test_a_deleted_policy_falls_back_to_the_code_default():
    SLAPolicy.objects.filter(kind=WorkItemKind.REPORT_MRI).delete()
    assert sla.policy_for(WorkItemKind.REPORT_MRI, "asap").clock == sla.Clock(12, "hours")


@pytest.mark.parametrize(("requested", "working_days"), [("asap", 1), ("urgent", 2), ("routine", 5)])
def test_a_question_back_to_the_referrer_is_due_by_the_referrals_requested_priority(
    pediatrician, neurologist, requested, working_days
):
    from referrals import services
    from tests import factories as f

    referral = f.make_referral(pediatrician, requested_priority=requested)
    services.referral_return_to_referrer(referral_id=referral.pk, actor=neurologist, reason="Which side?")

    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.ANSWER_QUERY)
    assert item.due_at == sla.add_working_days(item.created_at, working_days)
