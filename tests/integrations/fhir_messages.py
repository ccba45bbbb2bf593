"""What a simulated EHR sends: a transaction Bundle with a ServiceRequest, its Patient, a mother and
a father (RelatedPerson) and the referrer (PractitionerRole → Practitioner), and the same as one
ServiceRequest with contained resources (docs/integrations.md shows the Bundle)."""

import copy

EHR = "https://ehr.example-hospital.org"
CP = "https://carepath.example.org/fhir"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3 = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def patient(mrn="EHR-1001", **extra) -> dict:
    return {
        "resourceType": "Patient",
        "id": "pat1",
        "identifier": [{"type": {"coding": [{"system": V2, "code": "MR"}]}, "system": f"{EHR}/mrn", "value": mrn}],
        "name": [{"use": "official", "family": "Okafor", "given": ["Ada"]}],
        "gender": "female",
        "birthDate": "2017-06-15",
        **extra,
    }


def related(pid: str, code: str, name: str, phone: str, email: str = "") -> dict:
    telecom = [{"system": "phone", "value": phone, "use": "mobile"}]
    if email:
        telecom.append({"system": "email", "value": email})
    return {
        "resourceType": "RelatedPerson",
        "id": pid,
        "patient": {"reference": "urn:uuid:7d5c3a52-0000-4000-8000-000000000001"},
        "relationship": [{"coding": [{"system": V3, "code": code}]}],
        "name": [{"text": name}],
        "telecom": telecom,
    }


def service_request(placer="ORD-555", **extra) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "identifier": [
            {"type": {"coding": [{"system": V2, "code": "PLAC"}]}, "system": f"{EHR}/orders", "value": placer}
        ],
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "subject": {"reference": "urn:uuid:7d5c3a52-0000-4000-8000-000000000001"},
        "requester": {"reference": "urn:uuid:7d5c3a52-0000-4000-8000-000000000005"},
        "authoredOn": "2026-12-04T09:30:00Z",
        "reasonCode": [
            {"text": "Left eyelid twitching for three months, now spreading to the cheek."},
            {"coding": [{"system": f"{CP}/red-flag", "code": "rapid_progression", "display": "Rapid progression"}]},
        ],
        "bodySite": [
            {"coding": [{"system": f"{CP}/side", "code": "left"}]},
            {"coding": [{"system": f"{CP}/muscle", "code": "orbicularis_oculi"}]},
            {"coding": [{"system": f"{CP}/muscle", "code": "buccinator"}]},
        ],
        "note": [{"text": "Seen in clinic; no weakness."}],
        "extension": [
            {"url": f"{CP}/StructureDefinition/symptom-onset", "valueDate": "2026-09-01"},
            {"url": f"{CP}/StructureDefinition/spread", "valueBoolean": True},
            {
                "url": f"{CP}/StructureDefinition/requested-priority-reason",
                "valueString": "Seen today: progression is over months, not days.",
            },
        ],
        **extra,
    }


def practitioner(username="dr_ped") -> dict:
    return {
        "resourceType": "Practitioner",
        "id": "prac1",
        "identifier": [{"system": f"{CP}/user", "value": username}],
        "name": [{"family": "Ped", "given": ["Dr"]}],
    }


def bundle(placer="ORD-555", *, mrn="EHR-1001", kind="transaction", request_extra=None) -> dict:
    resources = [
        ("urn:uuid:7d5c3a52-0000-4000-8000-000000000001", patient(mrn)),
        (
            "urn:uuid:7d5c3a52-0000-4000-8000-000000000002",
            related("rp1", "MTH", "Grace Okafor", "+447700900111", "grace@example.org"),
        ),
        ("urn:uuid:7d5c3a52-0000-4000-8000-000000000003", related("rp2", "FTH", "Emeka Okafor", "+447700900222")),
        ("urn:uuid:7d5c3a52-0000-4000-8000-000000000004", service_request(placer, **(request_extra or {}))),
        (
            "urn:uuid:7d5c3a52-0000-4000-8000-000000000005",
            {
                "resourceType": "PractitionerRole",
                "id": "role1",
                "practitioner": {"reference": "urn:uuid:7d5c3a52-0000-4000-8000-000000000006"},
            },
        ),
        ("urn:uuid:7d5c3a52-0000-4000-8000-000000000006", practitioner()),
    ]
    entries = []
    for url, resource in resources:
        entry = {"fullUrl": url, "resource": resource}
        if kind == "transaction":
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def contained(placer="ORD-777") -> dict:
    """The same referral as one ServiceRequest: Patient, RelatedPerson and Practitioner contained."""
    request = service_request(placer, subject={"reference": "#pat1"}, requester={"reference": "#prac1"})
    mother = related("rp1", "MTH", "Grace Okafor", "+447700900111")
    mother["patient"] = {"reference": "#pat1"}
    request["contained"] = [patient(), mother, practitioner()]
    return request


def entry(message: dict, resource_type: str) -> dict:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == resource_type)


def changed(message: dict, change) -> dict:
    message = copy.deepcopy(message)
    change(message)
    return message


def ehr_client_for(user):
    """A DRF test client sending `user`'s bearer token, as an EHR would."""
    from rest_framework.test import APIClient

    from carepath.api.tokens import token_issue

    client = APIClient()
    _, raw = token_issue(user=user, name="ehr")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post(client, message: dict, **headers):
    return client.post(
        "/api/v1/fhir/ServiceRequest",
        message,
        format="json",
        headers={"Content-Type": "application/fhir+json", **headers},
    )
