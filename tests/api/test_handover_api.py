"""Reassign, snooze, delegate and reopen over REST: problem+json 403/409/422 with the reason (issue 18 item 3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import WorkItem, WorkItemKind
from tests import factories

from .conftest import transition

pytestmark = pytest.mark.django_db


def triage_of(referral) -> WorkItem:
    return WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)


def test_a_neurologist_gives_a_step_to_a_colleague(api, referral, neurologist, colleague):
    item = triage_of(referral)

    response = api(neurologist).post(
        f"/api/v1/worklist/{item.pk}/reassign/", {"to": "dr_colleague", "reason": "Her clinic."}, format="json"
    )

    assert response.status_code == 200 and response.json()["assigned_to"] == colleague.pk
    events = api(neurologist).get(f"/api/v1/referrals/{referral.pk}/events/").json()
    assert events[-1]["kind"] == "reassigned" and events[-1]["data"]["reason"] == "Her clinic."


def test_reassigning_to_the_wrong_role_is_a_422_naming_the_field(api, referral, neurologist, coordinator):
    response = api(neurologist).post(
        f"/api/v1/worklist/{triage_of(referral).pk}/reassign/", {"to": "coord", "reason": "x"}, format="json"
    )

    assert response.status_code == 422 and response["Content-Type"].startswith("application/problem+json")
    assert "is not a neurologist" in response.json()["errors"]["to"][0]


def test_a_colleague_may_not_snooze_a_step_someone_else_holds(api, referral, neurologist, colleague):
    factories.claim_triage(colleague, referral)
    until = (timezone.now() + timedelta(hours=2)).isoformat()

    response = api(neurologist).post(
        f"/api/v1/worklist/{triage_of(referral).pk}/snooze/", {"until": until}, format="json"
    )

    assert response.status_code == 403 and "Only whoever holds this step" in response.json()["detail"]


def test_a_snoozed_step_leaves_the_worklist(api, referral, neurologist):
    client, item = api(neurologist), triage_of(referral)
    until = (timezone.now() + timedelta(hours=2)).isoformat()

    snoozed = client.post(f"/api/v1/worklist/{item.pk}/snooze/", {"until": until}, format="json")

    assert snoozed.status_code == 200 and snoozed.json()["snoozed_until"]
    assert item.pk not in [row["id"] for row in client.get("/api/v1/worklist/").json()["results"]]


def test_a_snooze_in_the_past_is_a_422(api, referral, neurologist):
    until = (timezone.now() - timedelta(hours=2)).isoformat()
    response = api(neurologist).post(
        f"/api/v1/worklist/{triage_of(referral).pk}/snooze/", {"until": until}, format="json"
    )
    assert response.status_code == 422 and list(response.json()["errors"]) == ["until"]


def test_delegations_are_made_listed_and_refused_to_a_pediatrician(api, neurologist, colleague, pediatrician):
    today = timezone.localdate().isoformat()
    made = api(neurologist).post(
        "/api/v1/delegations/", {"to": "dr_colleague", "starts_on": today, "ends_on": today}, format="json"
    )
    refused = api(pediatrician).post(
        "/api/v1/delegations/", {"to": "dr_neuro", "starts_on": today, "ends_on": today}, format="json"
    )

    assert made.status_code == 201 and made.json()["delegate"] == "dr_colleague"
    assert [d["id"] for d in api(colleague).get("/api/v1/delegations/").json()] == [made.json()["id"]]
    assert refused.status_code == 403


def test_reopen_through_the_transitions_endpoint(api, pathway):
    case = pathway.closed()
    reason = {"reason": "New symptoms."}

    refused_role = transition(api(pathway.ped), "referrals", case.pk, "reopen", reason)
    done = transition(api(pathway.neuro), "referrals", case.pk, "reopen", reason)
    again = transition(api(pathway.neuro), "referrals", case.pk, "reopen", reason)

    assert refused_role.status_code == 403
    assert done.status_code == 200 and done.json()["state"] == "assessed"
    assert again.status_code == 409 and "allowed from: closed" in again.json()["detail"]
