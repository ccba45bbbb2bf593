"""Who a referral is from: a pediatrician refers in their own name only; an EHR client may name the
referrer, an active pediatrician (referrals/intake.py `_referrer_for`; docs/security.md)."""

import pytest

from carepath.pathway.roles import Role
from referrals.models import Referral
from tests import factories

from .test_referrals_api import REFERRAL


@pytest.fixture
def ehr(groups):
    return factories.UserFactory(role=Role.EHR_CLIENT, username="ehr")


def post_referral(client, patient, **extra):
    return client.post("/api/v1/referrals/", {**REFERRAL, "patient": patient.pk, **extra}, format="json")


def test_a_pediatrician_naming_another_clinician_as_referrer_gets_422_and_nothing_is_created(
    api, pediatrician, other_pediatrician
):
    patient = factories.make_patient(pediatrician)

    response = post_referral(api(pediatrician), patient, referred_by=other_pediatrician.pk)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "referred_by" in response.json()["errors"]
    assert not Referral.objects.exists()


def test_a_pediatrician_naming_themselves_or_nobody_is_the_referrer(api, pediatrician):
    patient = factories.make_patient(pediatrician)

    mine = post_referral(api(pediatrician), patient, referred_by=pediatrician.pk)
    unnamed = post_referral(api(pediatrician), patient)

    assert mine.status_code == unnamed.status_code == 201
    assert set(Referral.objects.values_list("referred_by", flat=True)) == {pediatrician.pk}


def test_an_ehr_client_may_name_an_active_pediatrician(api, ehr, pediatrician):
    patient = factories.make_patient(ehr)

    response = post_referral(api(ehr), patient, referred_by=pediatrician.pk)

    assert response.status_code == 201, response.json()
    assert Referral.objects.get().referred_by == pediatrician


@pytest.mark.parametrize("who", ["neurologist", "inactive pediatrician", "nobody"])
def test_an_ehr_client_naming_anyone_but_an_active_pediatrician_gets_422(api, ehr, neurologist, groups, who):
    inactive = factories.UserFactory(role=Role.PEDIATRICIAN, username="retired", is_active=False)
    named = {"neurologist": neurologist.pk, "inactive pediatrician": inactive.pk, "nobody": 987654}[who]
    patient = factories.make_patient(ehr)

    response = post_referral(api(ehr), patient, referred_by=named)

    assert response.status_code == 422 and "referred_by" in response.json()["errors"]
    assert not Referral.objects.exists()


def test_an_admin_may_not_name_the_referrer(api, admin_user, pediatrician):
    patient = factories.make_patient(pediatrician)

    response = post_referral(api(admin_user), patient, referred_by=pediatrician.pk)

    assert response.status_code == 422
    assert not Referral.objects.exists()


def test_the_service_holds_the_rule_for_every_channel(pediatrician, other_pediatrician):
    from carepath.pathway.errors import Unprocessable

    patient = factories.make_patient(pediatrician)

    with pytest.raises(Unprocessable):
        factories.make_referral(pediatrician, patient=patient, referred_by=other_pediatrician.pk)
    assert not Referral.objects.exists()
