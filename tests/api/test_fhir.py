"""FHIR R4 export: every bundle validates against the R4B models (fhir.resources)."""

import pytest
from django.core.management import call_command

from carepath.models import AuditLog
from referrals import fhir
from referrals.models import Referral
from referrals.selectors import referral_detail

STATES = [
    "submitted",
    "triaged",
    "assessed",
    "imaging",
    "protocoled",
    "scheduled",
    "performed",
    "results_review",
    "neurosurgery",
    "concluded",
    "closed",
]


def resource_types(bundle):
    return [e["resource"]["resourceType"] for e in bundle["entry"]]


@pytest.mark.parametrize("state", STATES)
def test_the_bundle_of_a_case_in_each_state_validates(api, pathway, neurologist, state):
    case = getattr(pathway, state)()

    response = api(neurologist).get(f"/api/v1/referrals/{case.pk}/fhir/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    fhir.validate_bundle(response.json())


def test_a_reported_case_maps_every_resource_kind(api, pathway, neurologist):
    case = pathway.results_review(category="critical")

    bundle = api(neurologist).get(f"/api/v1/referrals/{case.pk}/fhir/").json()

    assert {
        "Patient",
        "RelatedPerson",
        "ServiceRequest",
        "Task",
        "Appointment",
        "ImagingStudy",
        "DiagnosticReport",
    } <= set(resource_types(bundle))
    report = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DiagnosticReport")
    assert report["conclusionCode"][0]["coding"][0]["code"] == "nvc-present"


def test_work_items_become_tasks_with_status_and_business_status(pathway, neurologist):
    case = pathway.triaged()

    bundle = fhir.referral_bundle(referral_detail(neurologist, case.pk))

    tasks = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"]
    assert [(t["status"], t["businessStatus"]["coding"][0]["code"]) for t in tasks] == [
        ("completed", "triage"),
        ("ready", "first_assessment"),
    ]


def test_every_reference_resolves_inside_the_bundle(pathway, neurologist):
    case = pathway.closed()
    bundle = fhir.referral_bundle(referral_detail(neurologist, case.pk))
    urls = {e["fullUrl"] for e in bundle["entry"]}

    def references(node):
        if isinstance(node, dict):
            if "reference" in node:
                yield node["reference"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    assert set(references(bundle)) <= urls


def test_the_export_is_audited(api, referral, neurologist):
    api(neurologist).get(f"/api/v1/referrals/{referral.pk}/fhir/")

    assert AuditLog.objects.filter(action="export", object_id=str(referral.pk), actor=neurologist).exists()


@pytest.mark.parametrize("persona", ["outsider", "other_pediatrician", "coordinator"])
def test_outsiders_cannot_export(api, referral, request, persona):
    assert api(request.getfixturevalue(persona)).get(f"/api/v1/referrals/{referral.pk}/fhir/").status_code == 404


@pytest.mark.slow
def test_every_seed_demo_bundle_validates(db):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", "--force", verbosity=0)
    admin = get_user_model().objects.get(username="admin")

    states, kinds = set(), set()
    for pk in Referral.objects.values_list("pk", flat=True):
        referral = referral_detail(admin, pk)
        bundle = fhir.referral_bundle(referral)
        fhir.validate_bundle(bundle)
        states.add(referral.state)
        kinds.update(e["resource"]["id"].rsplit("-", 1)[0] for e in bundle["entry"])
    assert len(states) >= 8
    assert {"mdt-decision", "treatment", "follow-up-visit"} <= kinds  # the demo's MDT decisions and follow-up
