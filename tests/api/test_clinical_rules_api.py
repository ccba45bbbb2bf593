"""Red flags and times that cannot contradict each other, over the API (issue 13 items 3 and 4):
each broken rule is a 422 problem+json naming the field, and changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import CaseEvent
from referrals.models import Patient, Referral
from tests import factories as f

from .conftest import transition
from .test_referrals_api import PATIENT, REFERRAL


def assert_rule(response, field: str):
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["title"] == "Refused by a clinical rule"
    assert field in body["errors"], body
    return body


def unchanged(client, pk: int, kind: str, before: dict) -> None:
    after = client.get(f"/api/v1/{kind}/{pk}/").json()
    assert (after["state"], after["version"]) == (before["state"], before["version"])


# --- red flags -------------------------------------------------------------------------------------
def test_a_red_flag_referral_below_asap_without_a_reason_is_422_and_nothing_is_made(api, pediatrician):
    client = api(pediatrician)
    patient = client.post("/api/v1/patients/", PATIENT, format="json").json()

    response = client.post(
        "/api/v1/referrals/", {**REFERRAL, "patient": patient["id"], "red_flags": ["papilloedema"]}, format="json"
    )

    assert_rule(response, "requested_priority")
    assert not Referral.objects.exists()


def test_a_red_flag_referral_below_asap_with_a_reason_is_accepted_and_shows_it(api, pediatrician):
    client = api(pediatrician)
    patient = client.post("/api/v1/patients/", PATIENT, format="json").json()
    data = {**REFERRAL, "patient": patient["id"], "red_flags": ["bilateral"], "requested_priority_reason": "Stable."}

    response = client.post("/api/v1/referrals/", data, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["requested_priority_reason"] == "Stable."


def test_triage_below_asap_of_a_red_flag_referral_is_422(api, pediatrician, neurologist):
    referral = f.make_referral(pediatrician, red_flags=["papilloedema"])
    client = api(neurologist)
    before = client.get(f"/api/v1/referrals/{referral.pk}/").json()

    response = transition(client, "referrals", referral.pk, "triage", {"priority": "routine"})

    assert_rule(response, "priority")
    unchanged(client, referral.pk, "referrals", before)


def test_the_mri_request_shows_its_red_flag(api, pathway, coordinator):
    mri = pathway.mri(pathway.imaging(red_flags=["papilloedema"]))
    assert api(coordinator).get(f"/api/v1/mri-requests/{mri.pk}/").json()["red_flag"] is True


# --- birth date, age, onset --------------------------------------------------------------------------
def test_a_birth_date_in_the_future_is_422(api, pediatrician):
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = api(pediatrician).post("/api/v1/patients/", {**PATIENT, "birth_date": future}, format="json")
    assert_rule(response, "birth_date")
    assert not Patient.objects.exists()


def test_referring_an_adult_without_a_reason_is_422_and_with_one_is_accepted(api, pediatrician):
    client = api(pediatrician)
    patient = client.post("/api/v1/patients/", {**PATIENT, "birth_date": "1990-01-01"}, format="json").json()
    data = {**REFERRAL, "patient": patient["id"]}

    assert_rule(client.post("/api/v1/referrals/", data, format="json"), "over_18_reason")
    assert not Referral.objects.exists()

    accepted = client.post("/api/v1/referrals/", {**data, "over_18_reason": "Transition clinic."}, format="json")
    assert accepted.status_code == 201 and accepted.json()["over_18_reason"] == "Transition clinic."


def test_symptom_onset_before_birth_is_422(api, pediatrician):
    client = api(pediatrician)
    patient = client.post("/api/v1/patients/", PATIENT, format="json").json()
    response = client.post(
        "/api/v1/referrals/", {**REFERRAL, "patient": patient["id"], "symptom_onset": "2018-04-01"}, format="json"
    )
    assert_rule(response, "symptom_onset")
    assert not Referral.objects.exists()


# --- MRI times -------------------------------------------------------------------------------------
@pytest.fixture
def scheduled_mri(pathway):
    return pathway.mri(pathway.scheduled())  # booked 10 days from now


def test_a_scan_before_the_request_is_422_and_changes_nothing(api, coordinator, scheduled_mri):
    client = api(coordinator)
    before = client.get(f"/api/v1/mri-requests/{scheduled_mri.pk}/").json()
    performed = (scheduled_mri.requested_at - timedelta(days=1)).isoformat()

    response = transition(
        client,
        "mri-requests",
        scheduled_mri.pk,
        "mark_performed",
        {"accession_number": "A-1", "performed_at": performed, "early_scan_reason": "Early"},
    )

    assert_rule(response, "performed_at")
    unchanged(client, scheduled_mri.pk, "mri-requests", before)
    assert not CaseEvent.objects.filter(transition="mark_performed").exists()


def test_a_scan_before_its_appointment_day_is_422_unless_an_early_scan_reason_is_given(api, coordinator, scheduled_mri):
    client = api(coordinator)
    before = client.get(f"/api/v1/mri-requests/{scheduled_mri.pk}/").json()
    data = {"accession_number": "A-2", "performed_at": timezone.now().isoformat()}

    assert_rule(transition(client, "mri-requests", scheduled_mri.pk, "mark_performed", data), "performed_at")
    unchanged(client, scheduled_mri.pk, "mri-requests", before)

    data["early_scan_reason"] = "Cancellation slot."
    accepted = transition(client, "mri-requests", scheduled_mri.pk, "mark_performed", data)
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["early_scan_reason"] == "Cancellation slot."


def test_was_not_brought_before_the_appointment_is_422_and_changes_nothing(api, coordinator, scheduled_mri):
    client = api(coordinator)
    before = client.get(f"/api/v1/mri-requests/{scheduled_mri.pk}/").json()

    response = transition(client, "mri-requests", scheduled_mri.pk, "record_was_not_brought")

    body = assert_rule(response, "non_field_errors")
    assert "has not started yet" in body["detail"]
    unchanged(client, scheduled_mri.pk, "mri-requests", before)


@pytest.mark.parametrize("name", ["schedule", "reschedule"])
def test_booking_in_the_past_is_422_and_changes_nothing(api, coordinator, pathway, name):
    case = pathway.protocoled() if name == "schedule" else pathway.scheduled()
    mri = pathway.mri(case)
    client = api(coordinator)
    before = client.get(f"/api/v1/mri-requests/{mri.pk}/").json()
    past = (timezone.now() - timedelta(hours=3)).isoformat()
    data = {"scheduled_start": past, "location": "Scanner 1", "reason": "Family asked"}

    response = transition(client, "mri-requests", mri.pk, name, data)

    assert_rule(response, "scheduled_start")
    unchanged(client, mri.pk, "mri-requests", before)
