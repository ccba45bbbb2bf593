"""Who looked at this child: every audit row that touches a patient's record (docs/security.md,
"A child's access history"), newest first, for the admin's page on the patient.

A row touches the child when it names the child (`patient_id`: views, writes, exports, replays and
denied attempts on one record), names one of the child's records by type and id, or is a page of a
list or search whose ids include one of them (`changes.ids`). List rows are found by the quoted id
inside the ids' JSON text, so no database-specific JSON operator is needed; the page is for rare
reviews and reads at most a page of rows at a time.
"""

from django.apps import apps
from django.db.models import Q, QuerySet

from carepath.models import AuditLog, Delivery, WorkItem
from imaging.machine import MRI_MACHINE
from imaging.models import Appointment, MRIRequest, NeuroradiologyReport

from .machine import REFERRAL_MACHINE
from .models import Patient, Referral

MACHINE_OF = {MRIRequest._meta.label_lower: MRI_MACHINE, Referral._meta.label_lower: REFERRAL_MACHINE}


def records_of(patient_id: int) -> dict[str, list[str]]:
    """The child's records by audit object type: the patient, referrals, MRI requests, reports,
    appointments, work items and deliveries."""
    referrals = list(Referral.objects.filter(patient_id=patient_id).values_list("pk", flat=True))
    mri = list(MRIRequest.objects.filter(referral_id__in=referrals).values_list("pk", flat=True))
    found = {
        Patient: [patient_id],
        Referral: referrals,
        MRIRequest: mri,
        NeuroradiologyReport: NeuroradiologyReport.objects.filter(mri_request_id__in=mri).values_list("pk", flat=True),
        Appointment: Appointment.objects.filter(mri_request_id__in=mri).values_list("pk", flat=True),
        WorkItem: WorkItem.objects.filter(referral_id__in=referrals).values_list("pk", flat=True),
        Delivery: Delivery.objects.filter(referral_id__in=referrals).values_list("pk", flat=True),
    }
    return {model._meta.label_lower: [str(pk) for pk in ids] for model, ids in found.items() if ids}


def rows_touching(patient_id: int) -> QuerySet:
    """The audit rows touching the child, newest first."""
    touching = Q(patient_id=patient_id)
    for object_type, ids in records_of(patient_id).items():
        touching |= Q(object_type=object_type, object_id__in=ids)
        for pk in ids:
            touching |= Q(action=AuditLog.Action.LIST, object_type=object_type, changes__ids__icontains=f'"{pk}"')
    return AuditLog.objects.filter(touching).select_related("actor").order_by("-at", "-id")  # names, one query


# --- the rows in words ------------------------------------------------------------------------------
def record_words(row: AuditLog) -> str:
    """The record by name, "MRI request #11", not "imaging.mrirequest #11" (a privacy officer reads it)."""
    try:
        name = apps.get_model(row.object_type)._meta.verbose_name
    except (LookupError, ValueError):
        name = row.object_type
    return f"{name[:1].upper()}{name[1:]}" + (f" #{row.object_id}" if row.object_id else "")


def detail_words(row: AuditLog) -> str:
    """What the row did in a clinician's words: the page or export viewed, the transition with its
    states, the search typed, the refused path; a service's own label where it wrote one."""
    changes = row.changes if isinstance(row.changes, dict) else {}
    transition = changes.get("transition")
    machine = MACHINE_OF.get(row.object_type)
    if transition and machine is not None and any(t.name == transition for t in machine.transitions):
        return ": ".join([machine.get(transition).label, *_states(machine, changes)])
    for key in ("label", "query"):
        if changes.get(key):
            return str(changes[key])[:120]
    if changes.get("what"):
        return str(changes["what"]).replace("_", " ").capitalize()
    if changes.get("path"):
        return f"{changes.get('status', '')} {changes['path']}".strip()
    return ""


def _states(machine, changes: dict) -> list[str]:
    states = machine.states
    labels = [states(s).label if s in states.values else "" for s in (changes.get("from"), changes.get("to"))]
    return [" → ".join(labels)] if all(labels) and labels[0] != labels[1] else []
