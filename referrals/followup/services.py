"""Follow-up after treatment (docs/design.md, "Follow-up after treatment").

Recording a treatment's actual date makes its schedule: one visit per line of the site's template
(the default template where the site has none), each with a work item whose reminders and
escalation are the existing timers (carepath/timers/scheduling.py). A visit's item comes into the
worklists two weeks before its planned date (off them until then, as a snoozed step) and is due a
week after it (SLA `follow_up_visit`, 21 days); a visit still
unrecorded `FOLLOW_UP_MISSED_AFTER_DAYS` later is missed. A missed visit, or one recorded as not
attended, opens the same review as a missed clinic (`workitems.open_was_not_brought_review`): a
child is never discharged for it, and the case's state never changes.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from carepath.db import writes
from carepath.models import Machine, Timer, TimerKind, WorkItemKind
from carepath.pathway import workitems
from carepath.pathway.errors import Forbidden, RuleBroken, TransitionNotAllowed
from carepath.pathway.roles import Role, has_role

from .. import side_events
from ..models import Referral
from .models import FollowUpTemplate, FollowUpVisit, Treatment, TreatmentKind, VisitState

RECORDERS = (Role.NEUROLOGIST, Role.NEUROSURGEON)
SURGICAL = (TreatmentKind.MVD, TreatmentKind.LESION_SURGERY)
OPENS_BEFORE = timedelta(days=14)  # the visit's step opens this long before its planned date
VISIT_HOUR = time(9, 0)
# the MDT step a recorded treatment completes
TREATMENT_STEP = {
    TreatmentKind.BOTULINUM_TOXIN: WorkItemKind.MDT_TREATMENT,
    TreatmentKind.MVD: WorkItemKind.MDT_SURGERY,
    TreatmentKind.LESION_SURGERY: WorkItemKind.MDT_SURGERY,
}


def _require(actor, what: str) -> None:
    if not has_role(actor, *RECORDERS):
        raise Forbidden(f"Only neurology or neurosurgery may {what}.")


def planned_date(start: date, amount: int, unit: str) -> date:
    """Calendar arithmetic: 3 months after 30 November is 28 February (end of month kept)."""
    return start + relativedelta(**{unit: amount})


def template_lines(kind: str, site_id: int | None) -> list[tuple[str, int, str]]:
    """(label, amount, unit) of the site's template for this treatment, else the default one."""
    templates = FollowUpTemplate.objects.filter(treatment_kind=kind).prefetch_related("visits")
    by_site = {t.site_id: t for t in templates}
    template = by_site.get(site_id) or by_site.get(None)
    return [(v.label, v.amount, v.unit) for v in template.visits.all()] if template else []


@writes.atomic
def treatment_record(
    *, referral_id: int, actor, kind: str, treated_on: date, site_id: int | None = None, note: str = ""
) -> Treatment:
    _require(actor, "record a treatment")
    referral = Referral.objects.select_for_update().get(pk=referral_id)
    if treated_on > timezone.localdate():
        raise RuleBroken({"treated_on": "Record the date the treatment was given: it cannot be in the future."})
    if treated_on < timezone.localdate(referral.submitted_at):
        raise RuleBroken({"treated_on": "The treatment date is before the referral was received."})
    treatment = Treatment.objects.create(
        referral=referral,
        kind=kind,
        treated_on=treated_on,
        site_id=site_id,
        note=note,
        recorded_by=actor,
        recorded_at=timezone.now(),
    )
    visits = _plan(treatment, referral, template_lines(kind, site_id))
    if kind in TREATMENT_STEP:
        workitems.close_items(referral_id=referral.pk, actor=actor, kinds=[TREATMENT_STEP[kind]])
    label = (
        f"Treatment recorded: {treatment.get_kind_display()} on {treated_on:%-d %b %Y}; "
        f"{len(visits)} follow-up visit(s) planned"
    )
    side_events.record(
        referral_id=referral.pk,
        actor=actor,
        name="treatment_recorded",
        label=label,
        obj=treatment,
        data={"kind": kind, "treated_on": treated_on, "visits": [str(v.planned_on) for v in visits]},
    )
    return treatment


def _plan(treatment: Treatment, referral: Referral, lines) -> list[FollowUpVisit]:
    visits = []
    for label, amount, unit in lines:
        visit = FollowUpVisit.objects.create(
            treatment=treatment,
            label=label,
            amount=amount,
            unit=unit,
            planned_on=planned_date(treatment.treated_on, amount, unit),
        )
        visit.work_item = _open_step(visit, treatment, referral)
        visit.save(update_fields=["work_item"])
        visits.append(visit)
    return visits


def _open_step(visit: FollowUpVisit, treatment: Treatment, referral: Referral):
    """The visit's work item (reminders and escalation from its SLA policy) and its missed-visit timer."""
    surgical = treatment.kind in SURGICAL and referral.neurosurgery_requested_at is not None
    zone = ZoneInfo(settings.TIME_ZONE)
    at = datetime.combine(visit.planned_on, VISIT_HOUR, tzinfo=zone)
    item = workitems.open_item(
        referral_id=referral.pk,
        machine=Machine.REFERRAL,
        kind=WorkItemKind.FOLLOW_UP_VISIT,
        queue=Role.NEUROSURGEON if surgical else Role.NEUROLOGIST,
        priority=referral.effective_priority,
        is_primary=False,
        anchor=at - OPENS_BEFORE,
        out_of_my_work_until=at - OPENS_BEFORE,  # a 12-month visit is not today's work
        note=f"Planned {visit.planned_on:%a %-d %b %Y}: {visit.label} "
        f"({treatment.get_kind_display().lower()}, {treatment.treated_on:%-d %b %Y})",
    )
    Timer.objects.create(
        key=f"fu{visit.pk}:missed",
        kind=TimerKind.FOLLOW_UP_MISSED,
        due_at=item.due_at + timedelta(days=settings.FOLLOW_UP_MISSED_AFTER_DAYS),
        referral_id=referral.pk,
        work_item=item,
        data={"visit": visit.pk},
        created_at=item.created_at,
    )
    return item


@writes.atomic
def visit_record(*, visit_id: int, actor, attended: bool, note: str = "") -> FollowUpVisit:
    """Neurology or neurosurgery records a visit as attended, or as not attended (a review opens)."""
    _require(actor, "record a follow-up visit")
    visit = _lock_planned(visit_id)
    return _finish(visit, actor, VisitState.ATTENDED if attended else VisitState.MISSED, note)


def missed_by_timer(timer: Timer, actor, now: datetime) -> None:
    """The FOLLOW_UP_MISSED timer (registered in referrals/apps.py): idempotent, since only a planned
    visit is finished; a visit already recorded raises and the sweep cancels the timer."""
    _record_missed(visit_id=timer.data["visit"], actor=actor)


@writes.atomic
def _record_missed(*, visit_id: int, actor) -> FollowUpVisit:
    return _finish(_lock_planned(visit_id), actor, VisitState.MISSED, "Not recorded by its due time.")


def _lock_planned(visit_id: int) -> FollowUpVisit:
    visit = FollowUpVisit.objects.select_for_update().select_related("treatment__referral").get(pk=visit_id)
    if visit.state != VisitState.PLANNED:
        raise TransitionNotAllowed(f"This visit is already recorded ({visit.get_state_display().lower()}).")
    return visit


def _finish(visit: FollowUpVisit, actor, state: str, note: str) -> FollowUpVisit:
    referral = visit.treatment.referral
    visit.state, visit.recorded_by, visit.recorded_at, visit.note = state, actor, timezone.now(), note
    visit.save(update_fields=["state", "recorded_by", "recorded_at", "note"])
    if visit.work_item_id:
        workitems.close_items(referral_id=referral.pk, actor=actor, ids=[visit.work_item_id])
    words = "attended" if state == VisitState.ATTENDED else "missed: a review is open for neurology"
    if state == VisitState.MISSED:
        workitems.open_was_not_brought_review(
            referral_id=referral.pk,
            machine=Machine.REFERRAL,
            priority=referral.effective_priority,
            note=f"Follow-up visit missed: {visit.label} (planned {visit.planned_on:%-d %b %Y}). {note}".strip(),
        )
    side_events.record(
        referral_id=referral.pk,
        actor=actor,
        name=f"follow_up_{state}",
        label=f"Follow-up visit {words} ({visit.label}, planned {visit.planned_on:%-d %b %Y})",
        obj=visit,
        data={"visit": visit.pk, "note": note},
        action="update",
    )
    return visit


@writes.atomic
def replan_from_template(*, treatment_id: int, actor) -> list[FollowUpVisit]:
    """Chosen on purpose (the admin's action on a template): the treatment's visits not yet recorded are
    replaced by the current template's; recorded ones stay as they were."""
    _require_admin_or_recorder(actor)
    treatment = Treatment.objects.select_for_update().select_related("referral").get(pk=treatment_id)
    planned = list(treatment.visits.filter(state=VisitState.PLANNED))
    done = set(
        treatment.visits.exclude(state__in=[VisitState.PLANNED, VisitState.REPLANNED]).values_list("label", flat=True)
    )
    workitems.close_items(
        referral_id=treatment.referral_id, actor=actor, ids=[v.work_item_id for v in planned], status="cancelled"
    )
    FollowUpVisit.objects.filter(pk__in=[v.pk for v in planned]).update(state=VisitState.REPLANNED)
    lines = [line for line in template_lines(treatment.kind, treatment.site_id) if line[0] not in done]
    visits = _plan(treatment, treatment.referral, lines)
    side_events.record(
        referral_id=treatment.referral_id,
        actor=actor,
        name="follow_up_replanned",
        label=f"Follow-up re-planned from the current template: {len(visits)} visit(s)",
        obj=treatment,
        data={"visits": [str(v.planned_on) for v in visits]},
        action="update",
    )
    return visits


def _require_admin_or_recorder(actor) -> None:
    if not has_role(actor, *RECORDERS, Role.ADMIN):
        raise Forbidden("Only neurology, neurosurgery or an administrator may re-plan a follow-up schedule.")
