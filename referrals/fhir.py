"""A case as a FHIR R4 (R4B) Bundle (docs/design.md §5; mapping in docs/fhir.md).

Referral → ServiceRequest; each work item → Task; MRI request → ServiceRequest + Appointment(s) +
ImagingStudy; report → DiagnosticReport; clinical note → Communication; patient → Patient;
guardians → RelatedPerson; MDT decisions, treatments and follow-up visits: referrals/fhir_care.py.
Shared helpers (full URLs, references, codes): referrals/fhir_base.py. Resources refer to each
other by `urn:uuid:` full URLs (a `collection` bundle), stable per object.
"""

from carepath.models import WorkItemStatus
from carepath.pathway.priority import FHIR_PRIORITIES
from imaging.choices import AppointmentStatus, MRIState

from .choices import Muscle, RedFlag
from .choices import ReferralState as S
from .fhir_base import SNOMED, STRUCTURE, SYSTEM, clean, coded, iso, reference, urn_uuid, user_display
from .fhir_care import care_resources

MRN_SYSTEM = f"{SYSTEM}/mrn"
# What the referrer told us, as codes and extensions (also what integrations/fhir_in/ reads back)
SIDE_SYSTEM = f"{SYSTEM}/side"
MUSCLE_SYSTEM = f"{SYSTEM}/muscle"
RED_FLAG_SYSTEM = f"{SYSTEM}/red-flag"
# Referral field → the ServiceRequest extension that carries it, with its value's type
EXTENSIONS = {
    "symptom_onset": (f"{STRUCTURE}/symptom-onset", "valueDate"),
    "spread": (f"{STRUCTURE}/spread", "valueBoolean"),
    "frequency": (f"{STRUCTURE}/frequency", "valueCode"),
    "requested_priority_reason": (f"{STRUCTURE}/requested-priority-reason", "valueString"),
    "over_18_reason": (f"{STRUCTURE}/over-18-reason", "valueString"),
}
V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# Guardian relationship words → HL7 v3 RoleCode (personal relationship); anything else is GUARD with text.
RELATIONSHIP_CODES = {
    "mother": "MTH",
    "father": "FTH",
    "parent": "PRN",
    "grandmother": "GRMTH",
    "grandfather": "GRFTH",
    "foster carer": "FOSTPRN",
    "foster parent": "FOSTPRN",
    "stepmother": "STPMTH",
    "stepfather": "STPFTH",
    "aunt": "AUNT",
    "uncle": "UNCLE",
}
# ServiceRequest.status (request-status): the referral is active until concluded; then completed.
REFERRAL_STATUS = {
    S.RETURNED: "on-hold",
    S.CONCLUDED: "completed",
    S.CLOSED: "completed",
    S.DECLINED: "revoked",
    S.CANCELLED: "revoked",
}
MRI_STATUS = {MRIState.REPORTED: "completed", MRIState.CANCELLED: "revoked"}
# Appointment.status (appointmentstatus)
APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.RESCHEDULED: "cancelled",
    AppointmentStatus.ATTENDED: "fulfilled",
    AppointmentStatus.WAS_NOT_BROUGHT: "noshow",
    AppointmentStatus.MISSED: "noshow",
    AppointmentStatus.SCAN_FAILED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
}


# --- resources -------------------------------------------------------------------------------------
def patient_resource(patient) -> dict:
    return {
        "resourceType": "Patient",
        "id": f"patient-{patient.pk}",
        "identifier": [{"system": MRN_SYSTEM, "value": patient.mrn}],
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }


def guardian_resource(guardian, patient, *, contacts: bool = True) -> dict:
    code = RELATIONSHIP_CODES.get(guardian.relationship.strip().lower(), "GUARD")
    telecom = []
    if contacts and guardian.phone:
        telecom.append({"system": "phone", "value": guardian.phone, "use": "mobile"})
    if contacts and guardian.email:
        telecom.append({"system": "email", "value": guardian.email})
    return {
        "resourceType": "RelatedPerson",
        "id": f"guardian-{guardian.pk}",
        "patient": reference("Patient", f"patient-{patient.pk}"),
        "relationship": [{"coding": [{"system": V3_ROLE, "code": code}], "text": guardian.relationship}],
        "name": [{"text": guardian.name}],
        "telecom": telecom,
    }


def referral_resource(referral) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": f"referral-{referral.pk}",
        "identifier": [{"system": f"{SYSTEM}/referral", "value": referral.reference}],
        "status": REFERRAL_STATUS.get(referral.state, "active"),
        "intent": "order",
        "category": [coded(SNOMED, "3457005", "Patient referral")],
        "priority": referral.effective_priority,
        "code": {"text": "Paediatric neurology referral: facial twitching"},
        "subject": reference("Patient", f"patient-{referral.patient_id}"),
        "authoredOn": iso(referral.submitted_at),
        "requester": user_display(referral.referred_by),
        "reasonCode": [
            {"text": referral.reason},
            *(coded(RED_FLAG_SYSTEM, flag, RedFlag(flag).label) for flag in referral.red_flags if flag in RedFlag),
        ],
        "bodySite": [
            coded(SIDE_SYSTEM, referral.side, referral.get_side_display()),
            *(coded(MUSCLE_SYSTEM, m, Muscle(m).label) for m in referral.muscles if m in Muscle),
        ],
        "note": [{"text": referral.clinical_notes}] if referral.clinical_notes else [],
        "extension": _referral_extensions(referral),
    }


def _referral_extensions(referral) -> list[dict]:
    found = []
    for name, (url, kind) in EXTENSIONS.items():
        value = getattr(referral, name)
        if value not in (None, ""):
            found.append({"url": url, kind: value.isoformat() if kind == "valueDate" else value})
    return found


def service_request(referral) -> dict:
    """The referral's ServiceRequest alone, as in the export (the inbound FHIR endpoint answers with it)."""
    return clean(referral_resource(referral))


def task_resource(item, referral) -> dict:
    if item.status == WorkItemStatus.OPEN:
        status = "in-progress" if item.assigned_to_id else "ready"
    else:
        status = "completed" if item.status == WorkItemStatus.DONE else "cancelled"
    focus = (
        reference("ServiceRequest", f"mri-{item.mri_request_id}")
        if item.mri_request_id
        else reference("ServiceRequest", f"referral-{referral.pk}")
    )
    return {
        "resourceType": "Task",
        "id": f"work-item-{item.pk}",
        "status": status,
        "businessStatus": coded(f"{SYSTEM}/work-item-kind", item.kind, item.get_kind_display()),
        "intent": "order",
        "priority": item.priority if item.priority in FHIR_PRIORITIES else None,
        "code": {"text": item.get_kind_display()},
        "focus": focus,
        "for": reference("Patient", f"patient-{referral.patient_id}"),
        "authoredOn": iso(item.created_at),
        "lastModified": iso(item.closed_at),
        "owner": user_display(item.assigned_to) or {"display": f"{item.queue} queue"},
        "restriction": {"period": {"end": iso(item.due_at)}} if item.due_at else None,
        "note": [{"text": item.note}] if item.note else [],
    }


def mri_resources(mri, referral) -> list[dict]:
    key = f"mri-{mri.pk}"
    resources = [
        {
            "resourceType": "ServiceRequest",
            "id": key,
            "status": MRI_STATUS.get(mri.state, "active"),
            "intent": "order",
            "priority": mri.priority if mri.priority in FHIR_PRIORITIES else None,
            "category": [coded(SNOMED, "363679005", "Imaging")],
            "code": coded(f"{SYSTEM}/mri-protocol", mri.protocol, mri.get_protocol_display())
            if mri.protocol
            else {"text": "MRI brain and cerebellopontine angles"},
            "basedOn": [reference("ServiceRequest", f"referral-{referral.pk}")],
            "subject": reference("Patient", f"patient-{referral.patient_id}"),
            "authoredOn": iso(mri.requested_at),
            "reasonCode": [{"text": mri.clinical_question}],
        }
    ]
    for appointment in mri.appointments.all():
        resources.append(appointment_resource(appointment, mri, referral))
    if mri.performed_at:
        resources.append(imaging_study_resource(mri, referral))
    report = getattr(mri, "report", None)
    if report is not None:
        resources.append(report_resource(report, mri, referral))
    return resources


def appointment_resource(appointment, mri, referral) -> dict:
    return {
        "resourceType": "Appointment",
        "id": f"appointment-{appointment.pk}",
        "status": APPOINTMENT_STATUS.get(appointment.status, "booked"),
        "description": f"MRI at {appointment.location}; sedation: {appointment.get_sedation_display()}",
        "start": iso(appointment.start),
        "end": iso(appointment.end),
        "basedOn": [reference("ServiceRequest", f"mri-{mri.pk}")],
        "comment": appointment.status_reason,
        "participant": [{"actor": reference("Patient", f"patient-{referral.patient_id}"), "status": "accepted"}],
    }


def imaging_study_resource(mri, referral) -> dict:
    return {
        "resourceType": "ImagingStudy",
        "id": f"study-{mri.pk}",
        "identifier": [
            {
                "type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN", "Accession ID"),
                "value": mri.accession_number,
            }
        ]
        if mri.accession_number
        else [],
        "status": "available",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
        "subject": reference("Patient", f"patient-{referral.patient_id}"),
        "started": iso(mri.performed_at),
        "basedOn": [reference("ServiceRequest", f"mri-{mri.pk}")],
    }


FINDING_SYSTEM = f"{SYSTEM}/mri-finding"


def _finding_codes(findings: dict) -> list[dict]:
    """The structured findings (docs/design.md §3) as coded concepts."""
    codes = []
    nvc = findings.get("nvc") or {}
    if nvc.get("status"):
        text = f"Neurovascular compression: {nvc['status']}"
        if nvc.get("status") == "present":
            text += f" ({nvc.get('side')}, {nvc.get('vessel')}, {nvc.get('segment')}, {nvc.get('severity')})"
        codes.append(coded(FINDING_SYSTEM, f"nvc-{nvc['status']}", text))
    lesion = findings.get("lesion") or {}
    if lesion.get("present"):
        codes.append(
            coded(FINDING_SYSTEM, "lesion", f"Lesion: {lesion.get('location', '')} {lesion.get('kind', '')}".strip())
        )
    for flag in ("arachnoid_cyst", "adhesions", "hydrocephalus"):
        if findings.get(flag):
            codes.append(coded(FINDING_SYSTEM, flag.replace("_", "-"), flag.replace("_", " ").capitalize()))
    return codes


def report_resource(report, mri, referral) -> dict:
    addenda = list(report.addenda.all())
    return {
        "resourceType": "DiagnosticReport",
        "id": f"report-{report.pk}",
        "status": "amended" if addenda else "final",
        "category": [
            coded("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology"),
            coded(f"{SYSTEM}/report-category", report.category, report.get_category_display()),
        ],
        "code": coded("http://loinc.org", "18748-4", "Diagnostic imaging study"),
        "subject": reference("Patient", f"patient-{referral.patient_id}"),
        "basedOn": [reference("ServiceRequest", f"mri-{mri.pk}")],
        "issued": iso(report.signed_at),
        "resultsInterpreter": [user_display(report.signed_by)],
        "imagingStudy": [reference("ImagingStudy", f"study-{mri.pk}")] if mri.performed_at else [],
        "conclusion": "\n\n".join([report.impression, *(f"Addendum: {a.text}" for a in addenda)]),
        "conclusionCode": _finding_codes(report.findings or {}),
    }


def note_resource(note, referral) -> dict:
    """A clinical note → Communication (docs/fhir.md): an amendment answers the note it corrects
    (`inResponseTo`) and is categorised `amendment`; the original is kept, as in CarePath."""
    kind = ("amendment", "Amendment of a clinical note") if note.amends_id else ("clinical-note", "Clinical note")
    author = note.author.get_full_name() or note.author.get_username()
    return {
        "resourceType": "Communication",
        "id": f"note-{note.pk}",
        "status": "completed",
        "category": [coded(f"{SYSTEM}/note-kind", *kind)],
        "basedOn": [reference("ServiceRequest", f"referral-{referral.pk}")],
        "inResponseTo": [reference("Communication", f"note-{note.amends_id}")] if note.amends_id else [],
        "subject": reference("Patient", f"patient-{referral.patient_id}"),
        "sent": iso(note.written_at),
        "sender": {"display": f"{author} ({note.get_author_role_display().lower()})"},
        "payload": [{"contentString": note.text}],
    }


# --- the bundle ------------------------------------------------------------------------------------
def _full_url(resource: dict) -> str:
    return urn_uuid(resource["resourceType"], resource["id"])


def referral_bundle(referral, *, contacts: bool = True) -> dict:
    """Expects `selectors.referral_detail`'s object (patient, guardians, MRI requests prefetched)."""
    patient = referral.patient
    resources = [
        patient_resource(patient),
        *(guardian_resource(g, patient, contacts=contacts) for g in patient.guardians.all()),
        referral_resource(referral),
    ]
    for mri in referral.mri_requests.all():
        resources.extend(mri_resources(mri, referral))
    items = referral.work_items.select_related("assigned_to").order_by("created_at", "id")
    resources.extend(task_resource(item, referral) for item in items)
    notes = referral.notes.select_related("author").order_by("written_at", "id")
    resources.extend(note_resource(note, referral) for note in notes)
    resources.extend(care_resources(referral))  # MDT decisions, treatments, follow-up visits
    return {
        "resourceType": "Bundle",
        "id": f"referral-{referral.pk}-export",
        "type": "collection",
        "entry": [{"fullUrl": _full_url(r), "resource": clean(r)} for r in resources],
    }


def validate_bundle(bundle: dict):
    """Parse with the FHIR R4B models (fhir.resources); raises on any invalid element."""
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle)
