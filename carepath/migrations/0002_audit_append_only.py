"""Audit rows are append-only: the database itself refuses UPDATE and DELETE (docs/design.md §7)."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION carepath_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'carepath_auditlog is append-only: %% refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER carepath_auditlog_no_update BEFORE UPDATE OR DELETE ON carepath_auditlog
    FOR EACH ROW EXECUTE FUNCTION carepath_auditlog_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS carepath_auditlog_no_update ON carepath_auditlog;
DROP FUNCTION IF EXISTS carepath_auditlog_append_only();
"""
# SQLite (the demo database) refuses UPDATE only: it has no TRUNCATE, so a DELETE trigger would also
# stop the test runner from emptying the table between tests. PostgreSQL refuses both.
SQLITE_UP = [
    "CREATE TRIGGER carepath_auditlog_no_update BEFORE UPDATE ON carepath_auditlog "
    "BEGIN SELECT RAISE(ABORT, 'carepath_auditlog is append-only: UPDATE refused'); END;",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS carepath_auditlog_no_update;"]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("carepath", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
