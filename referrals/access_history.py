"""Who looked at this child: every audit row that touches a patient's record (docs/security.md,
"A child's access history"), newest first, for the admin's page on the patient.

A row touches the child when it names the child (`patient_id`: views, writes, exports, replays and
denied attempts on one record), names one of the child's records by type and id, or is a page of a
list or search whose ids include one of them (`changes.ids`). List rows are found by the quoted id
inside the ids' JSON text, so no database-specific JSON operator is needed; the page is for rare
reviews and reads at most a page of rows at a time.
"""

from django.db.models import Q, QuerySet

from carepath.models import AuditLog, Delivery, WorkItem
from imaging.models import Appointment, MRIRequest, NeuroradiologyReport

from .models import Patient, Referral


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
