"""A simulated EHR sends referrals as FHIR (integrations/fhir_in/; docs/integrations.md): the child
and the referral are created through the intake, once per placer number, and read back through the
FHIR export."""

from datetime import date

import pytest

from carepath.models import AuditLog, WorkItem
from carepath.pathway.roles import Role
from integrations.models import PlacerOrder
from referrals.fhir import validate_bundle
from referrals.models import Patient, Referral
from tests import factories

from . import fhir_messages as m


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def ehr(groups):
    return factories.UserFactory(role=Role.EHR_CLIENT, username="ehr")


def test_a_bundle_creates_the_child_the_guardians_and_the_referral_once(ehr, pediatrician):
    client = m.ehr_client_for(ehr)

    response = m.post(client, m.bundle())

    assert response.status_code == 201, response.json()
    assert response["Content-Type"] == "application/fhir+json"
    referral = Referral.objects.get()
    assert response["Location"] == f"/api/v1/fhir/ServiceRequest/referral-{referral.pk}"
    body = response.json()
    assert body["resourceType"] == "ServiceRequest" and body["id"] == f"referral-{referral.pk}"
    assert {"system": f"{m.EHR}/orders", "value": "ORD-555"}.items() <= body["identifier"][-1].items()
    child = referral.patient
    assert (child.mrn, child.given_name, child.family_name, str(child.birth_date), child.sex) == (
        "EHR-1001",
        "Ada",
        "Okafor",
        "2017-06-15",
        "female",
    )
    assert [
        (g.name, g.relationship, g.phone, g.email, g.has_parental_responsibility) for g in child.guardians.all()
    ] == [
        ("Grace Okafor", "mother", "+447700900111", "grace@example.org", True),
        ("Emeka Okafor", "father", "+447700900222", "", True),
    ]
    assert referral.referred_by == pediatrician and referral.created_by == ehr
    assert referral.requested_priority == "urgent"
    assert referral.reason == "Left eyelid twitching for three months, now spreading to the cheek."
    assert referral.red_flags == ["rapid_progression"]
    assert (referral.side, referral.muscles, referral.spread) == ("left", ["orbicularis_oculi", "buccinator"], True)
    assert str(referral.symptom_onset) == "2026-09-01"
    assert referral.clinical_notes == "Seen in clinic; no weakness."
    # the same as a referral typed on a page: its first step is open, and it was audited
    assert WorkItem.objects.filter(referral=referral, status="open").count() == 1
    assert AuditLog.objects.filter(
        action="create", object_type="referrals.referral", object_id=str(referral.pk)
    ).exists()


def test_a_retry_creates_nothing_and_answers_200_with_the_same_resource(ehr, pediatrician):
    client = m.ehr_client_for(ehr)
    first = m.post(client, m.bundle())

    again = m.post(client, m.bundle())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert (Referral.objects.count(), Patient.objects.count(), PlacerOrder.objects.count()) == (1, 1, 1)


def test_if_none_exist_is_the_placer_number_when_the_request_has_none(ehr, pediatrician):
    client = m.ehr_client_for(ehr)
    message = m.changed(m.bundle(), lambda b: m.entry(b, "ServiceRequest").pop("identifier"))

    first = m.post(client, message, **{"If-None-Exist": f"identifier={m.EHR}/orders|ORD-9"})
    again = m.post(client, message, **{"If-None-Exist": f"identifier={m.EHR}/orders|ORD-9"})
    other = m.post(client, message, **{"If-None-Exist": f"identifier={m.EHR}/orders|ORD-10"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert Referral.objects.count() == 2 and Patient.objects.count() == 1  # the same child, a second referral


def test_a_service_request_with_contained_resources_is_accepted(ehr, pediatrician):
    response = m.post(m.ehr_client_for(ehr), m.contained())

    assert response.status_code == 201, response.json()
    referral = Referral.objects.get()
    assert referral.patient.mrn == "EHR-1001" and referral.referred_by == pediatrician
    assert [g.relationship for g in referral.patient.guardians.all()] == ["mother"]


def test_a_known_child_is_matched_by_mrn_as_the_intake_does(ehr, pediatrician):
    known = factories.make_patient(
        pediatrician, mrn="ehr-1001\u200b", given_name="Ada", family_name="OKAFOR", birth_date=date(2017, 6, 15)
    )

    response = m.post(m.ehr_client_for(ehr), m.bundle())

    assert response.status_code == 201, response.json()
    assert Patient.objects.get() == known
    assert Referral.objects.get().patient == known


def test_the_created_referral_round_trips_through_the_fhir_export(api_client_for, ehr, pediatrician):
    created = m.post(m.ehr_client_for(ehr), m.bundle()).json()
    referral = Referral.objects.get()

    export = api_client_for(ehr).get(f"/api/v1/referrals/{referral.pk}/fhir/")

    assert export.status_code == 200
    bundle = export.json()
    validate_bundle(bundle)
    exported = m.entry(bundle, "ServiceRequest")
    for element in ("priority", "reasonCode", "note", "status", "intent"):
        assert exported[element] == created[element]
    assert exported["priority"] == "urgent"
    assert m.entry(bundle, "Patient")["identifier"][0]["value"] == "EHR-1001"
    assert m.entry(bundle, "Patient")["birthDate"] == "2017-06-15"
    related = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"]
    assert sorted(r["relationship"][0]["coding"][0]["code"] for r in related) == ["FTH", "MTH"]
    assert exported["requester"]["display"] == (pediatrician.get_full_name() or pediatrician.username)


@pytest.mark.parametrize(
    "given, expected",
    [("routine", "routine"), ("urgent", "urgent"), ("asap", "asap"), ("stat", "asap"), (None, "routine")],
)
def test_fhir_priorities_map_to_carepath_priorities(ehr, pediatrician, given, expected):
    extra = {"priority": given} if given else {}
    message = m.bundle(request_extra=extra)
    if given is None:
        m.entry(message, "ServiceRequest").pop("priority")

    response = m.post(m.ehr_client_for(ehr), message)

    assert response.status_code == 201, response.json()
    assert Referral.objects.get().requested_priority == expected


@pytest.mark.parametrize("role", [Role.PEDIATRICIAN, Role.NEUROLOGIST, Role.RIS_CLIENT, Role.ADMIN])
def test_only_an_ehr_client_may_send_referrals_as_fhir(groups, role):
    user = factories.UserFactory(role=role, username=f"u-{role}")

    response = m.post(m.ehr_client_for(user), m.bundle())

    assert response.status_code == 403
    assert response["Content-Type"] == "application/fhir+json"
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Referral.objects.exists() and not Patient.objects.exists()


def test_without_a_token_the_answer_is_401_with_the_challenge(groups):
    from rest_framework.test import APIClient

    response = m.post(APIClient(), m.bundle())

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["issue"][0]["code"] == "login"


@pytest.fixture
def api_client_for():
    return m.ehr_client_for


def test_the_export_of_a_received_referral_is_itself_a_referral_carepath_reads_back_the_same(ehr, pediatrician):
    """Round trip: EHR → CarePath → export → CarePath again (a new placer number) gives the same
    clinical fields and the same child."""
    client = m.ehr_client_for(ehr)
    m.post(client, m.bundle())
    first = Referral.objects.get()
    export = client.get(f"/api/v1/referrals/{first.pk}/fhir/").json()
    m.entry(export, "ServiceRequest").pop("requester")  # a display only: the export names no Practitioner

    again = m.post(client, export, **{"If-None-Exist": f"identifier={m.EHR}/orders|ROUND-TRIP"})

    assert again.status_code == 201, again.json()
    second = Referral.objects.exclude(pk=first.pk).get()
    fields = ["patient_id", "reason", "red_flags", "side", "muscles", "spread", "frequency", "symptom_onset"]
    fields += ["requested_priority", "requested_priority_reason", "clinical_notes", "over_18_reason"]
    assert {f: getattr(second, f) for f in fields} == {f: getattr(first, f) for f in fields}
    assert Patient.objects.count() == 1 and first.patient.guardians.count() == 2


def test_an_admin_finds_the_ehrs_order_by_its_placer_number_and_the_look_is_audited(ehr, pediatrician, settings):
    from django.test import Client

    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # the admin's CSS, unbuilt
    settings.STORAGES = {**settings.STORAGES, "staticfiles": static}

    assert m.post(m.ehr_client_for(ehr), m.bundle()).status_code == 201
    referral = Referral.objects.get()
    admin_user = factories.UserFactory(role=Role.ADMIN, username="ops", is_staff=True, is_superuser=True)
    ops = Client()
    ops.force_login(admin_user)

    page = ops.get("/admin/integrations/placerorder/?q=ORD-555")

    assert page.status_code == 200
    assert "ORD-555" in page.content.decode() and str(referral) in page.content.decode()
    assert AuditLog.objects.filter(actor=admin_user, object_type="integrations.placerorder").exists()
