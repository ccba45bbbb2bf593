"""The hand-built referral detail (referrals/api.py `referral_detail_json`) answers exactly what the
ReferralDetailSerializer (the contract and the schema) would, for every persona that may see the case."""

import json
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from carepath.models import AuditLog, WorkItem
from referrals import services
from referrals.models import Referral
from referrals.serializers import ReferralDetailSerializer


@pytest.fixture
def cases(pathway):
    """Cases with and without an assessment, MRI requests, a consult (open and answered) and an outcome."""
    answered = pathway.neurosurgery()
    services.referral_record_consult(
        referral_id=answered.pk, actor=pathway.surg, recommendation="mvd_candidate", note="Good candidate."
    )
    summer = pathway.assessed()  # British Summer Time: DRF writes +01:00, not Z
    Referral.objects.filter(pk=summer.pk).update(triaged_at=timezone.now().replace(month=7, day=1, hour=9))
    return [
        pathway.submitted(),
        summer,
        pathway.imaging(),
        pathway.results_review(),
        pathway.neurosurgery(),
        answered,
        pathway.concluded(),
        pathway.closed(),
    ]


def serializer_json(pk, user):
    context = {"request": SimpleNamespace(user=user), "now": timezone.now()}
    data = ReferralDetailSerializer(Referral.objects.get(pk=pk), context=context).data
    return json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize("persona", ["pediatrician", "neurologist", "neurosurgeon", "coordinator"])
def test_the_detail_equals_the_referral_detail_serializer_field_for_field(api, cases, request, persona):
    user = request.getfixturevalue(persona)
    client = api(user)
    shown = 0

    for case in cases:
        response = client.get(f"/api/v1/referrals/{case.pk}/")
        if response.status_code == 404:  # not this persona's case (tests/test_access.py has the rules)
            continue
        shown += 1
        assert response.json() == serializer_json(case.pk, user)
        assert list(response.json()) == ReferralDetailSerializer.Meta.fields
        assert response["ETag"] == f'"{response.json()["version"]}"'

    assert shown >= 2


def test_the_detail_answers_404_to_whoever_may_not_see_the_case_and_audits_only_shown_reads(
    api, pathway, other_pediatrician, outsider, pediatrician
):
    case = pathway.submitted()

    for user in (other_pediatrician, outsider):
        assert api(user).get(f"/api/v1/referrals/{case.pk}/").status_code == 404
    assert api(pediatrician).get(f"/api/v1/referrals/{case.pk}/").status_code == 200

    views = AuditLog.objects.filter(action="view", object_id=str(case.pk))
    assert list(views.values_list("actor_username", "patient_id")) == [(pediatrician.username, case.patient_id)]


def test_detail_ignores_list_filters(api, pathway, neurologist):
    case = pathway.submitted()

    response = api(neurologist).get(f"/api/v1/referrals/{case.pk}/?state=closed")

    assert response.status_code == 200
    assert response.json()["state"] == "submitted"


def test_other_details_ignore_list_filters_too(api, pathway, neurologist, coordinator):
    mri = pathway.mri(pathway.imaging())
    item = WorkItem.objects.get(referral=pathway.submitted(), status="open")

    mri_response = api(coordinator).get(f"/api/v1/mri-requests/{mri.pk}/?state=cancelled")
    item_response = api(neurologist).get(f"/api/v1/worklist/{item.pk}/?kind=report_mri")

    assert (mri_response.status_code, item_response.status_code) == (200, 200)
    assert (mri_response.json()["id"], item_response.json()["id"]) == (mri.pk, item.pk)
