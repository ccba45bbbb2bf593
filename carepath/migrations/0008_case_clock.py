"""The case clock (docs/design.md §4, last row: referral → conclusion, 18 weeks, NHS referral-to-treatment):
its two timer kinds, and its SLA policy per priority (a frozen copy of `carepath.sla`'s rows for
`referral_to_conclusion` at the time of writing). Admins edit the rows afterwards; later code
changes to the defaults do not rewrite an existing table."""

from django.db import migrations, models

SOURCE = "NHS referral-to-treatment, 18 weeks"
POLICIES = [
    {
        "kind": "referral_to_conclusion",
        "priority": priority,
        "amount": 126,
        "unit": "days",
        "reminder_hours_before": "672,336",
        "escalate_every_hours": 168,
        "escalate_to": "admin",
        "source": SOURCE,
    }
    for priority in ("asap", "urgent", "routine")
]


def seed(apps, schema_editor):
    SLAPolicy = apps.get_model("carepath", "SLAPolicy")
    for row in POLICIES:
        SLAPolicy.objects.get_or_create(kind=row["kind"], priority=row["priority"], defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("carepath", "SLAPolicy").objects.filter(kind="referral_to_conclusion").delete()


class Migration(migrations.Migration):
    dependencies = [("carepath", "0007_workitem_open_worklist_index")]

    operations = [
        migrations.AlterField(
            model_name="timer",
            name="kind",
            field=models.CharField(
                choices=[
                    ("reminder", "Reminder before a deadline"),
                    ("escalation", "Escalation after a deadline"),
                    ("clock_reminder", "Case clock: reminder before the breach"),
                    ("clock_escalation", "Case clock: escalation after the breach"),
                    ("alert", "Immediate alert (critical result, new review)"),
                    ("family_reminder", "Appointment reminder to the family"),
                    ("flag_missed", "Flag a missed MRI appointment"),
                    ("auto_close", "Close an unacknowledged outcome"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
