"""Patient identity over the API (issue 13 item 9): normalised MRN look-ups, a shared record that
leaks no other referral, and a near-duplicate answered 409 until confirmed."""

import pytest

from referrals.models import Patient, Referral
from tests import factories

from .conftest import PATIENT, REFERRAL

pytestmark = pytest.mark.django_db


def test_patients_are_found_by_mrn_whatever_its_case_or_spacing(api, pediatrician):
    patient = factories.make_patient(pediatrician, mrn="API-0001")

    found = api(pediatrician).get("/api/v1/patients/", {"mrn": " api-0001\u200b"}).json()["results"]

    assert [p["id"] for p in found] == [patient.pk]


def test_a_second_pediatrician_shares_the_record_and_sees_only_their_own_referral(
    api, pediatrician, other_pediatrician, groups
):
    first = api(pediatrician).post("/api/v1/patients/", PATIENT, format="json").json()
    theirs = api(pediatrician).post("/api/v1/referrals/", {**REFERRAL, "patient": first["id"]}, format="json")
    assert theirs.status_code == 201

    shared = api(other_pediatrician).post("/api/v1/patients/", {**PATIENT, "mrn": "api-0001 "}, format="json")

    assert shared.status_code == 200 and shared.json()["id"] == first["id"]
    assert set(shared.json()) == set(first)  # the record, nothing about its referrals
    mine = api(other_pediatrician).post("/api/v1/referrals/", {**REFERRAL, "patient": first["id"]}, format="json")
    assert mine.status_code == 201
    listed = api(other_pediatrician).get("/api/v1/referrals/", {"patient": first["id"]}).json()["results"]
    assert [r["id"] for r in listed] == [mine.json()["id"]]
    assert api(other_pediatrician).get(f"/api/v1/referrals/{theirs.json()['id']}/").status_code == 404
    # the third persona: a pediatrician who never registered the child sees neither
    outsider = factories.UserFactory(role="pediatrician", username="dr_third")
    assert api(outsider).get(f"/api/v1/patients/{first['id']}/").status_code == 404
    assert Referral.objects.filter(patient_id=first["id"]).count() == 2


def test_a_near_duplicate_is_409_saying_only_that_it_exists_until_confirmed(api, pediatrician, other_pediatrician):
    api(pediatrician).post("/api/v1/patients/", PATIENT, format="json")
    other_mrn = {**PATIENT, "mrn": "API-0002", "guardians": []}

    flagged = api(other_pediatrician).post("/api/v1/patients/", other_mrn, format="json")

    assert flagged.status_code == 409
    assert flagged["Content-Type"].startswith("application/problem+json")
    problem = flagged.json()
    assert problem["title"] == "A patient with the same name and birth date exists"
    assert "confirm_new_patient" in problem
    text = flagged.content.decode()
    assert "API-0001" not in text and "Hale" not in text and "2018" not in text and '"id"' not in text
    assert Patient.objects.count() == 1

    confirmed = api(other_pediatrician).post(
        "/api/v1/patients/", {**other_mrn, "confirm_new_patient": True}, format="json"
    )

    assert confirmed.status_code == 201 and "confirm_new_patient" not in confirmed.json()
    assert Patient.objects.count() == 2


def test_the_same_mrn_for_another_child_is_a_400_on_the_mrn(api, pediatrician, other_pediatrician):
    api(pediatrician).post("/api/v1/patients/", PATIENT, format="json")

    response = api(other_pediatrician).post(
        "/api/v1/patients/", {**PATIENT, "family_name": "Other", "mrn": "api-0001"}, format="json"
    )

    assert response.status_code == 400 and "mrn" in response.json()["errors"]
    assert "Hale" not in response.content.decode()


def test_an_mrn_pasted_with_invisible_characters_is_registered_clean_not_refused(api, pediatrician):
    response = api(pediatrician).post("/api/v1/patients/", {**PATIENT, "mrn": "\ufeffAPI\u200b-0009 "}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["mrn"] == "API-0009"
