"""Audit: a row per write and per read of a child's record; rows can never change (docs/design.md §7)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction

from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.errors import Forbidden
from carepath.pathway.workflow import perform
from referrals.machine import REFERRAL_MACHINE
from tests import factories as f


def test_creating_a_referral_records_who_created_what(pediatrician):
    referral = f.make_referral(pediatrician)

    row = AuditLog.objects.get(object_type="referrals.referral", object_id=str(referral.pk), action="create")
    assert row.actor == pediatrician
    assert row.patient_id == referral.patient_id
    assert row.changes["reason"] == referral.reason


def test_each_transition_records_one_audit_row_with_the_change(referral, neurologist):
    before = AuditLog.objects.count()

    perform(REFERRAL_MACHINE, referral.pk, "triage", neurologist, data={"priority": "urgent"})

    assert AuditLog.objects.count() == before + 1
    row = AuditLog.objects.latest("id")
    assert (row.action, row.actor, row.changes["from"], row.changes["to"]) == (
        "transition",
        neurologist,
        "submitted",
        "triaged",
    )
    assert row.changes["data"]["priority"] == "urgent"


def test_a_refused_transition_records_nothing(referral, pediatrician):
    before = AuditLog.objects.count()
    with pytest.raises(Forbidden):
        perform(REFERRAL_MACHINE, referral.pk, "triage", pediatrician, data={"priority": "urgent"})
    assert AuditLog.objects.count() == before


def test_viewing_a_record_is_audited_with_who_and_what(referral, neurologist):
    audit.record_view(neurologist, referral, "case page")

    row = AuditLog.objects.latest("id")
    assert (row.action, row.actor_username, row.object_id, row.patient_id) == (
        "view",
        neurologist.username,
        str(referral.pk),
        referral.patient_id,
    )


def test_the_model_refuses_to_change_or_delete_an_audit_row(referral):
    row = AuditLog.objects.latest("id")
    row.action = "view"
    with pytest.raises(PermissionDenied):
        row.save()
    with pytest.raises(PermissionDenied):
        row.delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("statement", ["UPDATE carepath_auditlog SET action = 'view'", "DELETE FROM carepath_auditlog"])
def test_the_database_itself_refuses_update_and_delete_of_audit_rows(statement, groups, pediatrician, request):
    if statement.startswith("DELETE"):
        request.getfixturevalue("require_postgres")  # SQLite refuses UPDATE only (see migration 0002)
    f.make_referral(pediatrician)
    count = AuditLog.objects.count()

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

    assert AuditLog.objects.count() == count
    assert not AuditLog.objects.filter(action="view").exists()


def test_queryset_update_is_refused_too(referral):
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            AuditLog.objects.all().update(actor_username="someone else")
