"""Idempotency-Key: a retried POST replays the first answer and acts once."""

from carepath.models import CaseEvent
from referrals.models import Patient

from .test_referrals_api import PATIENT


def post(client, url, body, key):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_create_replays_the_first_answer_and_creates_once(api, pediatrician):
    client = api(pediatrician)
    first = post(client, "/api/v1/patients/", PATIENT, "k-1")

    again = post(client, "/api/v1/patients/", PATIENT, "k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Patient.objects.count() == 1


def test_a_retried_transition_acts_once(api, referral, neurologist):
    client = api(neurologist)
    body = {"transition": "triage", "data": {"priority": "urgent"}}
    url = f"/api/v1/referrals/{referral.pk}/transitions/"

    first, again = post(client, url, body, "t-1"), post(client, url, body, "t-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again["ETag"] == first["ETag"] == '"2"'
    assert CaseEvent.objects.filter(referral=referral, transition="triage").count() == 1


def test_the_same_key_with_another_body_is_422(api, pediatrician):
    client = api(pediatrician)
    post(client, "/api/v1/patients/", PATIENT, "k-2")

    response = post(client, "/api/v1/patients/", {**PATIENT, "mrn": "OTHER"}, "k-2")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_a_refusal_is_replayed_too(api, referral, pediatrician):
    client = api(pediatrician)
    body = {"transition": "triage", "data": {"priority": "urgent"}}
    url = f"/api/v1/referrals/{referral.pk}/transitions/"

    first, again = post(client, url, body, "t-2"), post(client, url, body, "t-2")

    assert (first.status_code, again.status_code) == (403, 403)
    assert again["Content-Type"] == "application/problem+json"


def test_keys_are_per_user(api, pediatrician, neurologist):
    post(api(pediatrician), "/api/v1/patients/", PATIENT, "shared")

    another_child = {**PATIENT, "mrn": "N-1", "given_name": "Another"}  # not a near-duplicate of the first
    response = post(api(neurologist), "/api/v1/patients/", another_child, "shared")

    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_an_overlong_key_is_a_400(api, pediatrician):
    assert post(api(pediatrician), "/api/v1/patients/", PATIENT, "x" * 300).status_code == 400
