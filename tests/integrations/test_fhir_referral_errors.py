"""Each thing an EHR can get wrong in a FHIR referral is answered by an OperationOutcome naming the
element (FHIRPath `expression`), and nothing is created (integrations/fhir_in/; docs/integrations.md)."""

import pytest

from carepath.pathway.roles import Role
from integrations.models import PlacerOrder
from referrals.models import Guardian, Patient, Referral
from tests import factories

from . import fhir_messages as m


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def client(groups, pediatrician):
    return m.ehr_client_for(factories.UserFactory(role=Role.EHR_CLIENT, username="ehr"))


def request_of(b):
    return m.entry(b, "ServiceRequest")


def patient_of(b):
    return m.entry(b, "Patient")


def _set(getter, key, value):
    def change(b):
        getter(b)[key] = value

    return change


def _drop(getter, key):
    return lambda b: getter(b).pop(key)


def _extension(url, value):
    def change(b):
        exts = [e for e in request_of(b)["extension"] if not e["url"].endswith(url)]
        request_of(b)["extension"] = [
            *exts,
            *([{"url": f"{m.CP}/StructureDefinition/{url}", **value}] if value else []),
        ]

    return change


CASES = {
    # fhir.resources refuses the structure: 400
    "a date that is no date": (_set(patient_of, "birthDate", "2017-13-45"), 400, "Patient.birthDate", "structure"),
    "an identifier value that is a number": (
        lambda b: request_of(b)["identifier"][0].update(value=555),
        400,
        "ServiceRequest.identifier[0].value",
        "structure",
    ),
    "another bundle type": (_set(lambda b: b, "type", "batch"), 400, "Bundle.type", "value"),
    # CarePath cannot read what it needs: 422
    "no subject": (_drop(request_of, "subject"), 400, "ServiceRequest.subject", None),
    "a subject not in the message": (
        _set(request_of, "subject", {"reference": "Patient/elsewhere"}),
        422,
        "ServiceRequest.subject",
        "required",
    ),
    "a draft": (_set(request_of, "status", "draft"), 422, "ServiceRequest.status", "value"),
    "a proposal": (_set(request_of, "intent", "proposal"), 422, "ServiceRequest.intent", "value"),
    "an unknown priority": (_set(request_of, "priority", "whenever"), 422, "ServiceRequest.priority", "value"),
    "no placer number": (_drop(request_of, "identifier"), 422, "ServiceRequest.identifier", "required"),
    "no MRN": (_drop(patient_of, "identifier"), 422, "Patient.identifier", "required"),
    "no name": (_drop(patient_of, "name"), 422, "Patient.name", "required"),
    "no birth date": (_drop(patient_of, "birthDate"), 422, "Patient.birthDate", "required"),
    "an unknown gender": (_set(patient_of, "gender", "robot"), 422, "Patient.gender", "invalid"),
    "no reason": (_drop(request_of, "reasonCode"), 422, "ServiceRequest.reasonCode", "invalid"),
    "an unknown red flag": (
        lambda b: request_of(b)["reasonCode"][1]["coding"][0].update(code="sore_toe"),
        422,
        "ServiceRequest.reasonCode",
        "invalid",
    ),
    "no side or muscles": (_drop(request_of, "bodySite"), 422, "ServiceRequest.bodySite", "invalid"),
    "no symptom onset": (
        _extension("symptom-onset", None),
        422,
        f"ServiceRequest.extension('{m.CP}/StructureDefinition/symptom-onset')",
        "invalid",
    ),
    "an onset before birth (clinical rule)": (
        _extension("symptom-onset", {"valueDate": "2016-01-01"}),
        422,
        f"ServiceRequest.extension('{m.CP}/StructureDefinition/symptom-onset')",
        "business-rule",
    ),
    "a red flag below asap without a reason (clinical rule)": (
        _extension("requested-priority-reason", None),
        422,
        "ServiceRequest.priority",
        "business-rule",
    ),
    "a referrer who is not a CarePath pediatrician": (
        lambda b: m.entry(b, "Practitioner")["identifier"][0].update(value="someone_else"),
        422,
        "ServiceRequest.requester",
        "business-rule",
    ),
    "a requester not in the message": (
        _set(request_of, "requester", {"reference": "Practitioner/elsewhere"}),
        422,
        "ServiceRequest.requester",
        "invalid",
    ),
    "a guardian of another child": (
        lambda b: m.entry(b, "RelatedPerson").update(patient={"reference": "Patient/other"}),
        422,
        "RelatedPerson.patient",
        "invalid",
    ),
    "a guardian's control characters": (
        lambda b: m.entry(b, "RelatedPerson").update(name=[{"text": "Grace\x07 Okafor"}]),
        422,
        "RelatedPerson.name",
        "invalid",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_an_invalid_referral_gets_an_operation_outcome_naming_the_element_and_creates_nothing(client, case):
    change, status, expression, code = CASES[case]

    response = m.post(client, m.changed(m.bundle(), change))

    assert response.status_code == status, response.json()
    assert response["Content-Type"] == "application/fhir+json"
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    named = {(e, issue["code"]) for issue in outcome["issue"] for e in issue.get("expression", [])}
    assert expression in {e for e, _ in named}, outcome
    if code:
        assert (expression, code) in named, outcome
    assert all(issue["diagnostics"] for issue in outcome["issue"])
    assert not (Referral.objects.exists() or Patient.objects.exists() or Guardian.objects.exists())
    assert not PlacerOrder.objects.exists()


def test_every_missing_element_is_named_at_once(client):
    def strip(b):
        patient_of(b).pop("birthDate")
        request_of(b).pop("bodySite")
        request_of(b)["status"] = "draft"

    outcome = m.post(client, m.changed(m.bundle(), strip)).json()

    named = {e for issue in outcome["issue"] for e in issue.get("expression", [])}
    assert {"Patient.birthDate", "ServiceRequest.status"} <= named


@pytest.mark.parametrize(
    "body, status",
    [
        ("not json", 400),
        ({"resourceType": "Patient"}, 400),
        ([1, 2], 400),
        ({"resourceType": "Bundle", "type": "collection"}, 422),
    ],
)
def test_what_is_not_a_referral_message_is_refused(client, body, status):
    if isinstance(body, str):
        response = client.generic("POST", "/api/v1/fhir/ServiceRequest", body, content_type="application/fhir+json")
    else:
        response = m.post(client, body)

    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Referral.objects.exists()


def test_a_bundle_with_two_service_requests_is_refused(client):
    def twice(b):
        b["entry"].append({"fullUrl": "urn:uuid:extra", "resource": m.service_request("ORD-2")})

    response = m.post(client, m.changed(m.bundle(), twice))

    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry"]


def test_a_bad_if_none_exist_is_named(client):
    response = m.post(client, m.bundle(), **{"If-None-Exist": "patient=123"})

    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["ServiceRequest.identifier"]


def test_an_mrn_registered_to_another_child_is_refused_without_saying_who(client, pediatrician):
    factories.make_patient(pediatrician, mrn="EHR-1001", given_name="Sam", family_name="Jones")

    response = m.post(client, m.bundle())

    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier"] and "Jones" not in issue["diagnostics"]
    assert Referral.objects.count() == 0 and not PlacerOrder.objects.exists()


def test_a_possible_duplicate_child_is_a_conflict_until_confirmed(client, pediatrician):
    from datetime import date

    factories.make_patient(
        pediatrician, mrn="OTHER-1", given_name="Ada", family_name="Okafor", birth_date=date(2017, 6, 15)
    )

    refused = m.post(client, m.bundle())
    confirm = {"url": f"{m.CP}/StructureDefinition/confirm-new-patient", "valueBoolean": True}
    confirmed = m.post(client, m.changed(m.bundle(), lambda b: patient_of(b).update(extension=[confirm])))

    assert refused.status_code == 409 and refused.json()["issue"][0]["code"] == "duplicate"
    assert confirmed.status_code == 201, confirmed.json()
    assert Patient.objects.count() == 2
