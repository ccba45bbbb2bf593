"""The hand-built referral detail (referrals/api.py `referral_detail_json`) answers exactly what the
ReferralDetailSerializer (the contract and the schema) would, for every persona that may see the case."""

import json
from types import SimpleNamespace

import pytest
from django.db import connection
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
        if response.status_code == 404:  # not this persona's case (tests/pathway/test_access.py has the rules)
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


@pytest.mark.django_db(transaction=True)
def test_a_detail_read_and_its_audit_row_are_one_statement_for_a_visible_case_only(
    require_postgres, api, pathway, other_pediatrician
):
    from django.test.utils import CaptureQueriesContext

    from carepath.models import AuditLog

    case = pathway.submitted()
    client, stranger = api(pathway.ped), api(other_pediatrician)

    with CaptureQueriesContext(connection) as captured:
        shown = client.get(f"/api/v1/referrals/{case.pk}/")
    sql = [q["sql"] for q in captured.captured_queries]  # now: the next request empties Django's query log
    hidden = stranger.get(f"/api/v1/referrals/{case.pk}/")  # another pediatrician's case: 404

    assert shown.status_code == 200 and hidden.status_code == 404
    row = AuditLog.objects.get(action="view")
    assert (row.actor, row.object_id, row.patient_id, row.changes) == (
        pathway.ped,
        str(case.pk),
        case.patient_id,
        {"what": "api"},
    )
    # one prepared statement: the case's read, and the audit row's INSERT from the row it read,
    # committed without waiting for the WAL flush (docs/decisions.md, "Read audit durability")
    statements = [_prepared_statement(q.split()[1].split("(")[0]) for q in sql if q.startswith("EXECUTE")]
    (statement,) = [s for s in statements if "INSERT" in s]
    assert statement.startswith("PREPARE") and "AS WITH read AS (SELECT" in statement
    assert '"referrals_referral"' in statement
    assert "set_config('synchronous_commit', 'off', true)" in statement
    assert not connection.in_atomic_block


def _prepared_statement(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()[0]
