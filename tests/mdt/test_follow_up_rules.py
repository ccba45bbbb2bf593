"""Follow-up after treatment: dates from the treatment date, the template's part, reminders through
the timers, and a missed visit that opens a review and never closes the case."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from carepath.models import CaseEvent, Notification, Timer, TimerKind, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway.errors import Forbidden, RuleBroken, TransitionNotAllowed
from carepath.timers import sweep
from referrals.followup import services as followup
from referrals.followup.models import FollowUpTemplate, FollowUpTemplateVisit, VisitState
from referrals.models import Referral

pytestmark = pytest.mark.django_db


def _at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _record(referral, actor, kind="mvd", treated_on=None, **kw):
    return followup.treatment_record(
        referral_id=referral.pk, actor=actor, kind=kind, treated_on=treated_on or timezone.localdate(), **kw
    )


def test_mvd_visits_fall_1_week_3_6_and_12_months_after_the_actual_treatment_date(reviewed, neurosurgeon):
    Referral.objects.filter(pk=reviewed.pk).update(submitted_at=timezone.now() - timedelta(days=60))
    day = timezone.localdate() - timedelta(days=3)
    treatment = _record(reviewed, neurosurgeon, treated_on=day)
    planned = [v.planned_on for v in treatment.visits.all()]
    months = [followup.planned_date(day, n, "months") for n in (3, 6, 12)]
    assert planned == [day + timedelta(weeks=1), *months]


def test_month_arithmetic_keeps_the_end_of_the_month():
    assert followup.planned_date(date(2026, 11, 30), 3, "months") == date(2027, 2, 28)


def test_a_toxin_treatment_plans_its_re_dose_review_at_12_weeks_by_default(reviewed, neurologist):
    treatment = _record(reviewed, neurologist, kind="botulinum_toxin")
    (visit,) = treatment.visits.all()
    assert visit.planned_on == timezone.localdate() + timedelta(weeks=12)
    assert visit.work_item.kind == WorkItemKind.FOLLOW_UP_VISIT and visit.work_item.queue == "neurologist"


def test_each_visit_is_a_work_item_due_a_week_after_its_planned_date_with_a_missed_timer(reviewed, neurologist):
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    assert visit.work_item.due_at == _at_nine(visit.planned_on) + timedelta(days=7)
    missed = Timer.objects.get(kind=TimerKind.FOLLOW_UP_MISSED, work_item=visit.work_item)
    assert missed.due_at == visit.work_item.due_at + timedelta(days=settings.FOLLOW_UP_MISSED_AFTER_DAYS)


def test_a_site_template_is_used_for_its_site_and_the_default_elsewhere(reviewed, neurologist, site):
    template = FollowUpTemplate.objects.create(treatment_kind="botulinum_toxin", site=site)
    FollowUpTemplateVisit.objects.create(template=template, label="Re-dose review", amount=10, unit="weeks")
    here = _record(reviewed, neurologist, kind="botulinum_toxin", site_id=site.pk).visits.get()
    elsewhere = _record(reviewed, neurologist, kind="botulinum_toxin").visits.get()
    assert here.planned_on == timezone.localdate() + timedelta(weeks=10)
    assert elsewhere.planned_on == timezone.localdate() + timedelta(weeks=12)


def test_editing_a_template_leaves_schedules_already_made_unless_they_are_replanned(reviewed, neurologist):
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    FollowUpTemplateVisit.objects.filter(template__treatment_kind="botulinum_toxin", template__site=None).update(
        amount=8
    )
    visit.refresh_from_db()
    assert visit.planned_on == timezone.localdate() + timedelta(weeks=12)
    (new,) = followup.replan_from_template(treatment_id=visit.treatment_id, actor=neurologist)
    visit.refresh_from_db()
    assert new.planned_on == timezone.localdate() + timedelta(weeks=8) and visit.state == VisitState.REPLANNED
    assert WorkItem.objects.get(pk=visit.work_item_id).status == WorkItemStatus.CANCELLED


def test_the_visits_reminder_reaches_neurology_through_the_timers(reviewed, neurologist):
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    sweep.run_sync(_at_nine(visit.planned_on) + timedelta(minutes=1))  # 7 days before the step's due time
    note = Notification.objects.get(recipient=neurologist, work_item=visit.work_item, kind="reminder")
    assert "Follow-up visit after treatment" in note.subject + note.body
    assert CaseEvent.objects.filter(referral=reviewed, kind="reminder", data__work_item=visit.work_item_id).exists()


def test_a_missed_follow_up_opens_a_review_and_never_closes_the_case(reviewed, neurologist):
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    state = Referral.objects.get(pk=reviewed.pk).state
    missed = Timer.objects.get(kind=TimerKind.FOLLOW_UP_MISSED, work_item=visit.work_item)
    sweep.run_sync(missed.due_at + timedelta(minutes=1))
    sweep.run_sync(missed.due_at + timedelta(minutes=2))  # a second sweep does nothing more
    visit.refresh_from_db()
    assert visit.state == VisitState.MISSED
    review = WorkItem.objects.get(referral=reviewed, kind=WorkItemKind.WAS_NOT_BROUGHT_REVIEW)
    assert review.status == "open" and review.queue == "neurologist" and "Re-dose review" in review.note
    assert Referral.objects.get(pk=reviewed.pk).state == state
    assert Referral.objects.get(pk=reviewed.pk).is_open


def test_a_visit_recorded_as_attended_cancels_its_missed_timer(reviewed, neurologist):
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    followup.visit_record(visit_id=visit.pk, actor=neurologist, attended=True, note="Well, spasm controlled")
    assert Timer.objects.get(kind=TimerKind.FOLLOW_UP_MISSED, work_item=visit.work_item).state == "cancelled"
    assert not WorkItem.objects.filter(kind=WorkItemKind.WAS_NOT_BROUGHT_REVIEW).exists()
    with pytest.raises(TransitionNotAllowed):
        followup.visit_record(visit_id=visit.pk, actor=neurologist, attended=False)


def test_a_visit_recorded_as_not_attended_opens_the_review(reviewed, neurologist):
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    followup.visit_record(visit_id=visit.pk, actor=neurologist, attended=False)
    assert WorkItem.objects.filter(kind=WorkItemKind.WAS_NOT_BROUGHT_REVIEW, status="open").count() == 1


def test_recording_the_toxin_closes_the_mdt_treatment_step(on_list, neurologist, reviewed):
    from referrals.mdt import services as mdt

    decision = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin")
    _record(reviewed, neurologist, kind="botulinum_toxin")
    assert WorkItem.objects.get(pk=decision.opened_items[0]).status == WorkItemStatus.DONE


def test_a_treatment_date_in_the_future_is_refused(reviewed, neurologist):
    with pytest.raises(RuleBroken) as refused:
        _record(reviewed, neurologist, treated_on=timezone.localdate() + timedelta(days=1))
    assert "treated_on" in refused.value.errors


def test_only_neurology_or_neurosurgery_records_treatment_and_visits(reviewed, pediatrician, coordinator, neurologist):
    for user in (pediatrician, coordinator):
        with pytest.raises(Forbidden):
            _record(reviewed, user)
    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    with pytest.raises(Forbidden):
        followup.visit_record(visit_id=visit.pk, actor=pediatrician, attended=True)


def test_the_admins_action_replans_only_the_schedules_of_the_chosen_template(client, reviewed, neurologist, groups):
    from django.contrib.auth import get_user_model

    (visit,) = _record(reviewed, neurologist, kind="botulinum_toxin").visits.all()
    template = FollowUpTemplate.objects.get(treatment_kind="botulinum_toxin", site=None)
    template.visits.update(amount=10)
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(root)
    client.post(
        "/admin/referrals/followuptemplate/",
        {"action": "replan_existing", "_selected_action": [template.pk]},
        secure=True,
    )
    planned = visit.treatment.visits.get(state=VisitState.PLANNED)
    assert planned.planned_on == timezone.localdate() + timedelta(weeks=10)


def test_a_visit_comes_into_the_worklist_two_weeks_before_it_not_the_day_the_treatment_is_recorded(
    reviewed, neurologist
):
    from carepath.pathway.selectors import worklist_for

    Referral.objects.filter(pk=reviewed.pk).update(submitted_at=timezone.now() - timedelta(days=120))
    treatment = _record(
        reviewed, neurologist, kind="botulinum_toxin", treated_on=timezone.localdate() - timedelta(days=7)
    )
    visit = treatment.visits.get()  # the re-dose review, 12 weeks after
    listed = set(worklist_for(neurologist).values_list("pk", flat=True))
    assert visit.work_item_id not in listed
    assert visit.work_item.snoozed_until == _at_nine(visit.planned_on) - timedelta(days=14)

    soon = _record(reviewed, neurologist, kind="botulinum_toxin", treated_on=timezone.localdate() - timedelta(weeks=11))
    assert soon.visits.get().work_item_id in set(worklist_for(neurologist).values_list("pk", flat=True))
