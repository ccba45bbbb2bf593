"""The referrer's answer to neurology's question gets a clock per priority: asap 1 working day,
urgent 2, routine 5 (it was 5 for every priority, so a returned red-flag referral could wait a week).
Rows an admin has already changed are left alone; only the seeded default is rewritten."""

from django.db import migrations

SOURCE = "design: the referrer answers in 1 / 2 / 5 working days (asap / urgent / routine)"
OLD = {"amount": 5, "unit": "working_days", "reminder_hours_before": "24", "escalate_every_hours": 24}
NEW = {"asap": 1, "urgent": 2}


def tighten(apps, schema_editor):
    SLAPolicy = apps.get_model("carepath", "SLAPolicy")
    for priority, days in NEW.items():
        SLAPolicy.objects.filter(kind="answer_query", priority=priority, **OLD).update(
            amount=days, reminder_hours_before="4", source=SOURCE
        )
    SLAPolicy.objects.filter(kind="answer_query", priority="routine", **OLD).update(source=SOURCE)


def loosen(apps, schema_editor):
    SLAPolicy = apps.get_model("carepath", "SLAPolicy")
    for priority, days in NEW.items():
        SLAPolicy.objects.filter(kind="answer_query", priority=priority, amount=days, source=SOURCE).update(**OLD)


class Migration(migrations.Migration):
    dependencies = [("carepath", "0016_handover_snooze_delegation")]
    operations = [migrations.RunPython(tighten, loosen)]
