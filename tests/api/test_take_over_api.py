"""Take-over over the API: 409 problem+json until `take_over` is sent (issue 13 item 8)."""

import pytest

from carepath.models import CaseEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_api_answers_409_naming_the_holder_until_take_over_is_sent(api, pathway, colleague):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)
    url = f"/api/v1/referrals/{case.pk}/transitions/"
    body = {"transition": "triage", "data": {"priority": "routine"}, "version": 1}

    refused = api(pathway.neuro).post(url, body, format="json")

    assert refused.status_code == 409
    assert refused["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/steptaken") and problem["taken_by"] == "Ada Quinn"
    assert "take_over" in problem

    done = api(pathway.neuro).post(url, {**body, "take_over": True}, format="json")

    assert done.status_code == 200 and done.json()["state"] == "triaged"
    assert CaseEvent.objects.filter(referral=case, kind=CaseEvent.Kind.TAKE_OVER).count() == 1


def test_the_api_claim_takes_over_only_when_asked(api, pathway, colleague):
    case = pathway.submitted()
    item = factories.claim_triage(colleague, case)
    url = f"/api/v1/worklist/{item.pk}/claim/"

    assert api(pathway.neuro).post(url, {}, format="json").status_code == 409
    taken = api(pathway.neuro).post(url, {"take_over": True}, format="json")

    assert taken.status_code == 200
    item.refresh_from_db()
    assert item.assigned_to == pathway.neuro


def test_the_api_lets_the_holder_act_without_take_over(api, pathway):
    case = pathway.submitted()
    factories.claim_triage(pathway.neuro, case)
    url = f"/api/v1/referrals/{case.pk}/transitions/"

    done = api(pathway.neuro).post(url, {"transition": "triage", "data": {"priority": "routine"}}, format="json")

    assert done.status_code == 200
