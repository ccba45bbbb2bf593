"""Working on a case together (issue 18) in the case's FHIR export (docs/fhir.md, "MDT decisions,
treatments and follow-up"): each signed MDT decision → Communication (a correction answers the one it
corrects), each treatment → Procedure, each follow-up visit → Appointment whose reason is that
Procedure. `referrals.fhir.referral_bundle` adds them last, so a case without them is unchanged.
Three queries whatever their number: the decisions, the treatments, their visits.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch

from .fhir_base import SNOMED, STRUCTURE, SYSTEM, coded, iso, reference, user_display
from .followup.models import FollowUpVisit, TreatmentKind, VisitState
from .mdt.models import MDTDecision

MDT_DECISION_KIND_SYSTEM = f"{SYSTEM}/mdt-decision-kind"
MDT_OUTCOME_SYSTEM = f"{SYSTEM}/mdt-outcome"
MDT_MEETING_EXTENSION = f"{STRUCTURE}/mdt-meeting-start"
TREATMENT_SYSTEM = f"{SYSTEM}/treatment-kind"
APPOINTMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
# Procedure.category: SNOMED CT 387713003 (from FHIR's procedure-category value set) for the operations
SURGICAL = frozenset({TreatmentKind.MVD, TreatmentKind.LESION_SURGERY})
# FollowUpVisit.state → Appointment.status (appointmentstatus); docs/fhir.md has the table
VISIT_STATUS = {
    VisitState.PLANNED: "proposed",
    VisitState.ATTENDED: "fulfilled",
    VisitState.MISSED: "noshow",
    VisitState.REPLANNED: "cancelled",
}
# R4 requires start and end on an Appointment in these statuses (invariant app-3)
NEEDS_START_AND_END = frozenset({"fulfilled", "noshow"})


def care_resources(referral) -> list[dict]:
    """The case's signed MDT decisions (in signing order), then each treatment followed by its visits."""
    resources = [decision_resource(d, referral) for d in _decisions(referral)]
    for treatment in _treatments(referral):
        resources.append(treatment_resource(treatment, referral))
        resources.extend(visit_resource(visit, treatment, referral) for visit in treatment.visits.all())
    return resources


def _decisions(referral):
    return (
        MDTDecision.objects.filter(mdt_case__referral_id=referral.pk)
        .select_related("mdt_case__meeting", "signed_by")
        .order_by("signed_at", "id")
    )


def _treatments(referral):
    visits = Prefetch("visits", queryset=FollowUpVisit.objects.order_by("planned_on", "id"))
    return (
        referral.treatments.select_related("recorded_by", "site").prefetch_related(visits).order_by("treated_on", "id")
    )


def _patient(referral) -> dict:
    return reference("Patient", f"patient-{referral.patient_id}")


def _case(referral) -> list[dict]:
    return [reference("ServiceRequest", f"referral-{referral.pk}")]


# --- MDT decisions -------------------------------------------------------------------------------
def decision_resource(decision, referral) -> dict:
    """A signed decision is a message that was sent and is never edited (docs/decisions.md, "MDT decisions
    in the FHIR export"): the export of a decision stays the same after it is corrected."""
    entry = decision.mdt_case
    if decision.corrects_id:
        kind = ("correction", "Correction of a signed MDT decision")
        corrects = [reference("Communication", f"mdt-decision-{decision.corrects_id}")]
    else:
        kind, corrects = ("decision", "Signed MDT decision"), []
    return {
        "resourceType": "Communication",
        "id": f"mdt-decision-{decision.pk}",
        "extension": [{"url": MDT_MEETING_EXTENSION, "valueDateTime": iso(entry.meeting.starts_at)}],
        "basedOn": _case(referral),
        "inResponseTo": corrects,
        "status": "completed",
        "category": [coded(MDT_DECISION_KIND_SYSTEM, *kind)],
        "subject": _patient(referral),
        "topic": {
            **coded(MDT_OUTCOME_SYSTEM, decision.outcome, decision.get_outcome_display()),
            "text": decision.summary,
        },
        "sent": iso(decision.signed_at),
        "sender": user_display(decision.signed_by),
        "reasonCode": [{"text": entry.question}],
        "payload": [
            {"contentString": decision.summary},
            {"contentString": f"Rationale: {decision.rationale}"} if decision.rationale else None,
        ],
    }


# --- treatments and follow-up visits -------------------------------------------------------------
def treatment_resource(treatment, referral) -> dict:
    return {
        "resourceType": "Procedure",
        "id": f"treatment-{treatment.pk}",
        "basedOn": _case(referral),
        "status": "completed",
        "category": coded(SNOMED, "387713003", "Surgical procedure") if treatment.kind in SURGICAL else None,
        "code": coded(TREATMENT_SYSTEM, treatment.kind, treatment.get_kind_display()),
        "subject": _patient(referral),
        "performedDateTime": treatment.treated_on.isoformat(),
        "recorder": user_display(treatment.recorded_by),
        "location": {"display": treatment.site.name} if treatment.site_id else None,
        "note": [{"text": treatment.note}] if treatment.note else [],
    }


def visit_resource(visit, treatment, referral) -> dict:
    """The planned date is a day, not a time: `requestedPeriod` is that day; `start`/`end` (the day's
    bounds in CarePath's time zone) only where R4 requires them."""
    status = VISIT_STATUS.get(visit.state, "proposed")
    start, end = _day_bounds(visit.planned_on) if status in NEEDS_START_AND_END else (None, None)
    given = f"{treatment.get_kind_display().lower()} of {treatment.treated_on.isoformat()}"
    return {
        "resourceType": "Appointment",
        "id": f"follow-up-visit-{visit.pk}",
        "status": status,
        "cancelationReason": {"text": visit.get_state_display()} if status == "cancelled" else None,
        "appointmentType": {**coded(APPOINTMENT_TYPE_SYSTEM, "FOLLOWUP"), "text": "Follow-up visit"},
        "reasonReference": [reference("Procedure", f"treatment-{treatment.pk}")],
        "description": f"Follow-up: {visit.label} after {given}",
        "start": start,
        "end": end,
        "requestedPeriod": [{"start": visit.planned_on.isoformat(), "end": visit.planned_on.isoformat()}],
        "basedOn": _case(referral),
        "comment": visit.note,
        "participant": [
            {"actor": _patient(referral), "status": "needs-action" if status == "proposed" else "accepted"}
        ],
    }


def _day_bounds(day) -> tuple[str, str]:
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start.isoformat(), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).isoformat()
