"""Audit rows carry the request's client address, user agent and API token; new actions for
replays, denied attempts and failed sign-ins (docs/security.md, "Audit trail")."""

from django.db import migrations, models

SQLITE_TRIGGER = [
    "DROP TRIGGER IF EXISTS carepath_auditlog_no_update;",
    "CREATE TRIGGER carepath_auditlog_no_update BEFORE UPDATE ON carepath_auditlog "
    "BEGIN SELECT RAISE(ABORT, 'carepath_auditlog is append-only: UPDATE refused'); END;",
]


def sqlite_trigger_again(apps, schema_editor):
    """SQLite adds a NOT NULL column by copying the table, which drops migration 0002's trigger."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGER:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("carepath", "0010_open_mri_step_index")]

    operations = [
        migrations.AddField(
            model_name="auditlog",
            name="address",
            field=models.CharField(blank=True, help_text="client IP address", max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="user_agent",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="token_id",
            field=models.BigIntegerField(blank=True, help_text="the API token of an API call", null=True),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "Create"),
                    ("update", "Update"),
                    ("transition", "Transition"),
                    ("view", "View"),
                    ("list", "List"),
                    ("export", "Export"),
                    ("replay", "Replay (Idempotency-Key)"),
                    ("denied", "Denied (403/404)"),
                    ("sign_in_failed", "Failed sign-in"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(sqlite_trigger_again, migrations.RunPython.noop),
    ]
