"""Two PostgreSQL roles (docs/security.md, "Audit rows are tamper-proof"): the *owner* owns the
tables and runs the migrations; the *application* role, the one web processes, workers and beat
connect as, reads and writes the tables but may only INSERT and SELECT the audit log.

PostgreSQL then refuses, for the application role, every way to change history: UPDATE, DELETE and
TRUNCATE of `carepath_auditlog` (no privilege; the trigger of migration carepath 0002 refuses UPDATE
and DELETE even for the owner), `ALTER TABLE … DISABLE TRIGGER` and `DROP TABLE` (only the owner may
alter a table) and `SET session_replication_role = replica`, which would skip triggers (superusers
only). The role must be neither a superuser nor the owner nor a member of the owner's role.

`grant_statements` is what `manage.py grant_app_role ROLE` runs as the owner after `migrate`; its
default privileges give the role the same rights on tables later migrations create.
`tamper_attempts` is what `manage.py check_audit_protection` tries as the application role (and
tests/db/test_audit_roles.py with `SET ROLE`): each must fail.
"""

from django.db import DatabaseError, connection, transaction

AUDIT_TABLE = "carepath_auditlog"
DML = "SELECT, INSERT, UPDATE, DELETE"


def grant_statements(role: str) -> list[str]:
    """The owner's grants to the application role, idempotent (run after every `migrate`)."""
    qn = connection.ops.quote_name
    app = qn(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT {DML} ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        # tables and sequences the owner creates later (new migrations) get the same
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {DML} ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        # the audit log: append and read only
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {qn(AUDIT_TABLE)} FROM {app}",
        f"GRANT SELECT, INSERT ON {qn(AUDIT_TABLE)} TO {app}",
    ]


def role_problems(role: str) -> list[str]:
    """Why `role` cannot be the application role, if it cannot (asked as the owner)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s", [role]
        )
        found = cursor.fetchone()
        if found is None:
            return [f"role {role} does not exist"]
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) = %s, pg_has_role(%s, relowner, 'MEMBER') "
            "FROM pg_class WHERE relname = %s AND relkind = 'r'",
            [role, role, AUDIT_TABLE],
        )
        owner = cursor.fetchone() or (False, False)
    problems = [
        what for what, bad in zip(("a superuser", "BYPASSRLS", "CREATEROLE", "CREATEDB"), found, strict=True) if bad
    ]
    if owner[0]:
        problems.append(f"the owner of {AUDIT_TABLE}")
    elif owner[1]:
        problems.append(f"a member of the role that owns {AUDIT_TABLE}")
    return [f"role {role} is {p}" for p in problems]


TAMPER_ATTEMPTS = {
    "UPDATE": "UPDATE carepath_auditlog SET actor_username = 'someone else'",
    "DELETE": "DELETE FROM carepath_auditlog",
    "TRUNCATE": "TRUNCATE carepath_auditlog",
    "DISABLE TRIGGER": "ALTER TABLE carepath_auditlog DISABLE TRIGGER carepath_auditlog_no_update",
    "session_replication_role": "SET LOCAL session_replication_role = replica",
    "DROP TABLE": "DROP TABLE carepath_auditlog",
}


def tamper_attempts(prelude: str = "") -> dict[str, str | None]:
    """Try each way to change the audit log, each in a savepoint rolled back whatever happens: the
    error PostgreSQL gave, or None when the attempt *succeeded* (a hole). `prelude` runs first in each
    (the test's `SET LOCAL ROLE`)."""
    outcome = {}
    for name, statement in TAMPER_ATTEMPTS.items():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if prelude:
                    cursor.execute(prelude)
                cursor.execute(statement)
                outcome[name] = None
                raise _Undo
        except _Undo:
            pass
        except DatabaseError as exc:
            outcome[name] = str(exc).splitlines()[0]
    return outcome


class _Undo(Exception):
    """Rolls back an attempt that succeeded."""
