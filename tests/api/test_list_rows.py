"""The hand-built referral list (referrals/api.py, carepath/api/rows.py) answers exactly what the
ReferralSerializer (the contract and the schema) would, and the read audit's cheaper commit stays
within its own transaction."""

import json
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.roles import user_roles
from referrals.models import Referral
from referrals.serializers import ReferralSerializer


@pytest.fixture
def cases(pathway):
    """A case in every kind of list row: no work item, open items, MRI requests, an outcome, returned."""
    from referrals import services

    returned = pathway.submitted()
    services.referral_return_to_referrer(referral_id=returned.pk, actor=pathway.neuro, reason="Which side?")
    summer = pathway.triaged()  # British Summer Time: DRF writes +01:00, not Z
    Referral.objects.filter(pk=summer.pk).update(triaged_at=timezone.now().replace(month=7, day=1, hour=9))
    return [
        pathway.submitted(),
        pathway.triaged(),
        pathway.imaging(),
        pathway.results_review(),
        pathway.concluded(),
        pathway.closed(),
        returned,
        summer,
    ]


def serializer_json(referral_ids, user):
    referrals = Referral.objects.filter(pk__in=referral_ids).order_by("-submitted_at")
    context = {"request": SimpleNamespace(user=user), "now": timezone.now()}
    return json.loads(JSONRenderer().render(ReferralSerializer(referrals, many=True, context=context).data))


@pytest.mark.parametrize("persona", ["pediatrician", "neurologist"])
def test_list_rows_equal_the_referral_serializer_field_for_field(api, cases, request, persona):
    user = request.getfixturevalue(persona)

    listed = api(user).get("/api/v1/referrals/?page_size=50").json()["results"]

    assert len(listed) == len(cases)
    assert listed == serializer_json([c.pk for c in cases], user)


def test_list_rows_keep_the_serializers_key_order(api, cases, neurologist):
    listed = api(neurologist).get("/api/v1/referrals/?page_size=50").json()["results"]

    assert list(listed[0]) == ReferralSerializer.Meta.fields


@pytest.mark.django_db(transaction=True)
def test_a_read_audit_row_is_written_with_synchronous_commit_off_only_in_its_own_transaction(
    require_postgres, pathway, neurologist
):
    referral = pathway.submitted()

    with CaptureQueriesContext(connection) as captured:
        audit.record_view(neurologist, referral, "api")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        after = cursor.fetchone()[0]

    assert any("set_config('synchronous_commit', 'off', true)" in q["sql"] for q in captured.captured_queries)
    assert after == "on"  # the setting ended with the audit row's transaction
    assert AuditLog.objects.filter(action="view", object_id=str(referral.pk), actor=neurologist).exists()


def test_a_read_audit_row_inside_a_write_transaction_keeps_synchronous_commit(pathway, neurologist):
    referral = pathway.submitted()

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        audit.record_view(neurologist, referral, "api")

    assert not any("synchronous_commit" in q["sql"] for q in captured.captured_queries)


def test_write_audit_rows_keep_synchronous_commit(pathway, neurologist):
    referral = pathway.submitted()

    with CaptureQueriesContext(connection) as captured:
        audit.record(neurologist, AuditLog.Action.EXPORT, referral, {"format": "fhir-r4b-bundle"})

    assert not any("synchronous_commit" in q["sql"] for q in captured.captured_queries)


def test_a_bearer_request_knows_the_callers_roles_without_another_query(api, neurologist, admin_user):
    from carepath.api.tokens import BearerTokenAuthentication, token_issue

    for user in (neurologist, admin_user):
        raw = token_issue(user=user, name="t")[1]
        found, _ = BearerTokenAuthentication()._check(raw)

        with CaptureQueriesContext(connection) as captured:
            roles = user_roles(found)

        assert roles == user_roles(type(user).objects.get(pk=user.pk))
        assert len(captured) == (0 if connection.vendor == "postgresql" else 1)


@pytest.mark.django_db(transaction=True)
def test_a_read_audit_row_that_fails_leaves_no_open_transaction_behind(require_postgres, pathway, neurologist):
    from django.db import DatabaseError

    referral = pathway.submitted()
    too_long = SimpleNamespace(pk=referral.pk, _meta=SimpleNamespace(label_lower="x" * 100))  # object_type: 64

    with pytest.raises(DatabaseError):
        audit.record_view(neurologist, too_long, "api")

    assert not connection.in_atomic_block
    assert Referral.objects.filter(pk=referral.pk).exists()  # the session still answers
    assert not AuditLog.objects.filter(action="view").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/api/v1/referrals/?page_size=2", "/api/v1/worklist/?page_size=2"])
def test_a_list_pages_audit_row_is_written_by_its_read_statement(require_postgres, api, pathway, url):
    for _ in range(3):
        pathway.submitted()
    client = api(pathway.neuro)

    with CaptureQueriesContext(connection) as captured:
        shown = [row["id"] for row in client.get(url).json()["results"]]

    row = AuditLog.objects.get(action="list")
    assert row.changes["ids"] == [str(pk) for pk in shown] and len(shown) == 2
    assert (row.actor, row.channel) == (pathway.neuro, "api")
    sql = [q["sql"] for q in captured.captured_queries]
    # one statement: the page's read, and the audit row's INSERT if it read any row, committed
    # without waiting for the WAL flush (docs/decisions.md, "Read audit durability")
    statements = [_prepared_statement(q.split()[1].split("(")[0]) for q in sql if q.startswith("EXECUTE")]
    (statement,) = [s for s in statements if "INSERT" in s]
    assert "AS WITH read AS (SELECT" in statement and "FROM read LIMIT 1" in statement
    assert "set_config('synchronous_commit', 'off', true)" in statement
    assert not connection.in_atomic_block


def test_inside_a_transaction_the_list_row_is_written_at_once_and_nothing_rides_along(pathway, neurologist):
    case = pathway.submitted()

    with transaction.atomic():
        along = audit.list_along(neurologist, Referral, [case.pk], "state=submitted")

    assert along is None
    assert AuditLog.objects.get(action="list").changes == {"ids": [str(case.pk)], "query": "state=submitted"}


def _prepared_statement(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()[0]
