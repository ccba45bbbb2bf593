"""Audit rows are tamper-proof in PostgreSQL (docs/security.md): the application's role, granted by
`manage.py grant_app_role`, may INSERT and SELECT the audit log and nothing else on it: UPDATE,
DELETE, TRUNCATE, ALTER TABLE … DISABLE TRIGGER, DROP TABLE and SET session_replication_role all
fail. The test makes such a role inside its own transaction (rolled back with it) and acts as it
with SET LOCAL ROLE, so it runs wherever the suite runs as a role that may create roles."""

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from carepath.db import roles as db_roles
from carepath.models import AuditLog
from carepath.pathway import audit

pytestmark = pytest.mark.usefixtures("require_postgres")


@pytest.fixture
def app_role(db, require_postgres):
    """A fresh application role (NOLOGIN: only this test acts as it), granted as in production."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("the test database's role may not create roles")
        role = f"carepath_app_test_{uuid.uuid4().hex[:8]}"
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        if not _superuser():  # a CREATEROLE owner must be able to SET ROLE to what it created
            cursor.execute(f'GRANT "{role}" TO current_user')
    call_command("grant_app_role", role, stdout=open("/dev/null", "w"))  # noqa: SIM115
    return role


def _superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return cursor.fetchone()[0]


def test_the_application_role_cannot_change_or_remove_audit_rows_by_any_means(app_role, referral):
    before = list(AuditLog.objects.order_by("id").values_list("id", "actor_username"))
    assert before

    outcome = db_roles.tamper_attempts(prelude=f'SET LOCAL ROLE "{app_role}"')

    assert set(outcome) == {"UPDATE", "DELETE", "TRUNCATE", "DISABLE TRIGGER", "session_replication_role", "DROP TABLE"}
    holes = [name for name, error in outcome.items() if error is None]
    assert holes == [], outcome
    assert "permission denied" in outcome["UPDATE"] and "permission denied" in outcome["TRUNCATE"]
    assert "must be owner" in outcome["DISABLE TRIGGER"]
    assert list(AuditLog.objects.order_by("id").values_list("id", "actor_username")) == before


def test_the_application_role_can_append_and_read_audit_rows_and_work_normally(app_role, referral, neurologist):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{app_role}"')
        audit.record_view(neurologist, referral, "as the application role")
        found = AuditLog.objects.filter(changes__what="as the application role").count()
        referral.__class__.objects.filter(pk=referral.pk).update(clinical_notes="written as the app role")
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == app_role
        cursor.execute("RESET ROLE")
    assert found == 1


def test_grant_app_role_refuses_a_superuser_or_the_owner(db, require_postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="superuser|owner"):
        call_command("grant_app_role", me)


def test_check_audit_protection_reports_a_role_that_can_change_history(db, require_postgres):
    if not _superuser():
        pytest.skip("needs the owner or a superuser to show the hole")
    with pytest.raises(CommandError, match="can change the audit log"):
        call_command("check_audit_protection", stdout=open("/dev/null", "w"))  # noqa: SIM115
