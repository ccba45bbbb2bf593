"""`GET /api/v1/referrals/?referred_by=me` (issue 13, item 2): the referrals you sent, with three
personas: the referrer, another pediatrician, a neurologist (who sees every case but sent none)."""

import json

import pytest

from tests import factories


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(r["id"] for r in response.json()["results"])


@pytest.fixture
def two_referrers(pediatrician, other_pediatrician):
    mine = [factories.make_referral(pediatrician), factories.make_referral(pediatrician)]
    theirs = factories.make_referral(other_pediatrician)
    return mine, theirs


def test_the_referrer_sees_every_referral_they_sent(api, pediatrician, two_referrers):
    mine, _ = two_referrers
    assert ids(api(pediatrician).get("/api/v1/referrals/?referred_by=me")) == sorted(r.pk for r in mine)


def test_another_pediatrician_sees_only_their_own(api, other_pediatrician, two_referrers):
    _, theirs = two_referrers
    assert ids(api(other_pediatrician).get("/api/v1/referrals/?referred_by=me")) == [theirs.pk]


def test_a_neurologist_sees_every_case_but_sent_none(api, neurologist, two_referrers):
    assert len(ids(api(neurologist).get("/api/v1/referrals/"))) == 3
    assert ids(api(neurologist).get("/api/v1/referrals/?referred_by=me")) == []


def test_an_ehr_client_and_the_pediatrician_it_named_both_find_the_referral(api, pediatrician, groups):
    ehr = factories.user_with_role("ehr_client", "ehr")
    referral = factories.make_referral(ehr, patient=factories.make_patient(ehr), referred_by=pediatrician.pk)
    assert ids(api(ehr).get("/api/v1/referrals/?referred_by=me")) == [referral.pk]
    assert ids(api(pediatrician).get("/api/v1/referrals/?referred_by=me")) == [referral.pk]


def test_referred_by_combines_with_the_state_filter(api, pediatrician, neurologist, two_referrers):
    from referrals import services

    mine, _ = two_referrers
    services.referral_decline(referral_id=mine[0].pk, actor=neurologist, reason="r", advice="a")
    assert ids(api(pediatrician).get("/api/v1/referrals/?referred_by=me&state=declined")) == [mine[0].pk]
    assert ids(api(pediatrician).get("/api/v1/referrals/?referred_by=me&state=submitted")) == [mine[1].pk]


def test_referred_by_takes_only_me(api, pediatrician, other_pediatrician):
    response = api(pediatrician).get(f"/api/v1/referrals/?referred_by={other_pediatrician.pk}")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
    assert "referred_by" in response.json()["errors"]


def test_the_schema_documents_referred_by_me():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    params = {p["name"]: p for p in schema["paths"]["/api/v1/referrals/"]["get"]["parameters"]}
    assert params["referred_by"]["schema"]["enum"] == ["me"]
    assert "you sent" in params["referred_by"]["description"]
