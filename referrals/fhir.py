"""A case as a FHIR R4 (R4B) Bundle (docs/design.md §5; mapping in docs/fhir.md).

Referral → ServiceRequest; each work item → Task; MRI request → ServiceRequest + Appointment(s) +
ImagingStudy; report → DiagnosticReport; clinical note → Communication; patient → Patient;
guardians → RelatedPerson. Resources refer to each other by `urn:uuid:` full URLs (a `collection`
bundle), stable per object.
"""

import uuid

from django.conf import settings

from carepath.models import WorkItemStatus
from carepath.pathway.priority import FHIR_PRIORITIES
from imaging.choices import AppointmentStatus, MRIState

from .choices import Muscle, RedFlag
from .choices import ReferralState as S

NS = uuid.UUID("6f1c3a52-2d8e-4e0a-9a57-8a9c2b6e4f10")
SYSTEM = "https://carepath.example.org/fhir"
MRN_SYSTEM = f"{SYSTEM}/mrn"
# What the referrer told us, as codes and extensions (also what integrations/fhir_in/ reads back)
SIDE_SYSTEM = f"{SYSTEM}/side"
MUSCLE_SYSTEM = f"{SYSTEM}/muscle"
RED_FLAG_SYSTEM = f"{SYSTEM}/red-flag"
STRUCTURE = f"{SYSTEM}/StructureDefinition"
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


def _uuid(kind: str, resource_id: str) -> str:
    """A stable full URL per resource (same object → same UUID in every export)."""
    return f"urn:uuid:{uuid.uuid5(NS, f'{settings.CAREPATH_BASE_URL}/{kind}/{resource_id}')}"


def _ref(kind: str, resource_id: str, display: str = "") -> dict:
    ref = {"reference": _uuid(kind, resource_id), "type": kind}
    if display:
        ref["display"] = display
    return ref


def _code(system: str, code: str, display: str = "") -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _clean(resource: dict) -> dict:
    """FHIR forbids empty elements: drop None, "" and [] values (recursively)."""
    if isinstance(resource, dict):
        cleaned = {k: _clean(v) for k, v in resource.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(resource, list):
        return [c for c in (_clean(v) for v in resource) if c not in (None, "", [], {})]
    return resource


def _user(user) -> dict | None:
    return {"display": user.get_full_name() or user.get_username()} if user else None


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
        "patient": _ref("Patient", f"patient-{patient.pk}"),
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
        "category": [_code("http://snomed.info/sct", "3457005", "Patient referral")],
        "priority": referral.effective_priority,
        "code": {"text": "Paediatric neurology referral: facial twitching"},
        "subject": _ref("Patient", f"patient-{referral.patient_id}"),
        "authoredOn": _iso(referral.submitted_at),
        "requester": _user(referral.referred_by),
        "reasonCode": [
            {"text": referral.reason},
            *(_code(RED_FLAG_SYSTEM, flag, RedFlag(flag).label) for flag in referral.red_flags if flag in RedFlag),
        ],
        "bodySite": [
            _code(SIDE_SYSTEM, referral.side, referral.get_side_display()),
            *(_code(MUSCLE_SYSTEM, m, Muscle(m).label) for m in referral.muscles if m in Muscle),
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
    return _clean(referral_resource(referral))


def task_resource(item, referral) -> dict:
    if item.status == WorkItemStatus.OPEN:
        status = "in-progress" if item.assigned_to_id else "ready"
    else:
        status = "completed" if item.status == WorkItemStatus.DONE else "cancelled"
    focus = (
        _ref("ServiceRequest", f"mri-{item.mri_request_id}")
        if item.mri_request_id
        else _ref("ServiceRequest", f"referral-{referral.pk}")
    )
    return {
        "resourceType": "Task",
        "id": f"work-item-{item.pk}",
        "status": status,
        "businessStatus": _code(f"{SYSTEM}/work-item-kind", item.kind, item.get_kind_display()),
        "intent": "order",
        "priority": item.priority if item.priority in FHIR_PRIORITIES else None,
        "code": {"text": item.get_kind_display()},
        "focus": focus,
        "for": _ref("Patient", f"patient-{referral.patient_id}"),
        "authoredOn": _iso(item.created_at),
        "lastModified": _iso(item.closed_at),
        "owner": _user(item.assigned_to) or {"display": f"{item.queue} queue"},
        "restriction": {"period": {"end": _iso(item.due_at)}} if item.due_at else None,
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
            "category": [_code("http://snomed.info/sct", "363679005", "Imaging")],
            "code": _code(f"{SYSTEM}/mri-protocol", mri.protocol, mri.get_protocol_display())
            if mri.protocol
            else {"text": "MRI brain and cerebellopontine angles"},
            "basedOn": [_ref("ServiceRequest", f"referral-{referral.pk}")],
            "subject": _ref("Patient", f"patient-{referral.patient_id}"),
            "authoredOn": _iso(mri.requested_at),
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
        "start": _iso(appointment.start),
        "end": _iso(appointment.end),
        "basedOn": [_ref("ServiceRequest", f"mri-{mri.pk}")],
        "comment": appointment.status_reason,
        "participant": [{"actor": _ref("Patient", f"patient-{referral.patient_id}"), "status": "accepted"}],
    }


def imaging_study_resource(mri, referral) -> dict:
    return {
        "resourceType": "ImagingStudy",
        "id": f"study-{mri.pk}",
        "identifier": [
            {
                "type": _code("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN", "Accession ID"),
                "value": mri.accession_number,
            }
        ]
        if mri.accession_number
        else [],
        "status": "available",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
        "subject": _ref("Patient", f"patient-{referral.patient_id}"),
        "started": _iso(mri.performed_at),
        "basedOn": [_ref("ServiceRequest", f"mri-{mri.pk}")],
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
        codes.append(_code(FINDING_SYSTEM, f"nvc-{nvc['status']}", text))
    lesion = findings.get("lesion") or {}
    if lesion.get("present"):
        codes.append(
            _code(FINDING_SYSTEM, "lesion", f"Lesion: {lesion.get('location', '')} {lesion.get('kind', '')}".strip())
        )
    for flag in ("arachnoid_cyst", "adhesions", "hydrocephalus"):
        if findings.get(flag):
            codes.append(_code(FINDING_SYSTEM, flag.replace("_", "-"), flag.replace("_", " ").capitalize()))
    return codes


def report_resource(report, mri, referral) -> dict:
    addenda = list(report.addenda.all())
    return {
        "resourceType": "DiagnosticReport",
        "id": f"report-{report.pk}",
        "status": "amended" if addenda else "final",
        "category": [
            _code("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology"),
            _code(f"{SYSTEM}/report-category", report.category, report.get_category_display()),
        ],
        "code": _code("http://loinc.org", "18748-4", "Diagnostic imaging study"),
        "subject": _ref("Patient", f"patient-{referral.patient_id}"),
        "basedOn": [_ref("ServiceRequest", f"mri-{mri.pk}")],
        "issued": _iso(report.signed_at),
        "resultsInterpreter": [_user(report.signed_by)],
        "imagingStudy": [_ref("ImagingStudy", f"study-{mri.pk}")] if mri.performed_at else [],
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
        "category": [_code(f"{SYSTEM}/note-kind", *kind)],
        "basedOn": [_ref("ServiceRequest", f"referral-{referral.pk}")],
        "inResponseTo": [_ref("Communication", f"note-{note.amends_id}")] if note.amends_id else [],
        "subject": _ref("Patient", f"patient-{referral.patient_id}"),
        "sent": _iso(note.written_at),
        "sender": {"display": f"{author} ({note.get_author_role_display().lower()})"},
        "payload": [{"contentString": note.text}],
    }


# --- the bundle ------------------------------------------------------------------------------------
def _full_url(resource: dict) -> str:
    return _uuid(resource["resourceType"], resource["id"])


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
    return {
        "resourceType": "Bundle",
        "id": f"referral-{referral.pk}-export",
        "type": "collection",
        "entry": [{"fullUrl": _full_url(r), "resource": _clean(r)} for r in resources],
    }


def validate_bundle(bundle: dict):
    """Parse with the FHIR R4B models (fhir.resources); raises on any invalid element."""
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle)
