"""When a case's imaging ended (report signed or request cancelled): people in imaging see the case
until CAREPATH_IMAGING_ACCESS_DAYS after it (carepath/pathway/access.py, docs/security.md)."""

from django.db import migrations, models
from django.db.models import Max, OuterRef, Q, Subquery


def backfill(apps, schema_editor):
    """Cases whose MRI requests have all ended: the last request's last change (its signing or an
    amendment, or its cancellation)."""
    Referral = apps.get_model("referrals", "Referral")
    MRIRequest = apps.get_model("imaging", "MRIRequest")
    open_states = ["requested", "protocoled", "scheduled", "needs_rebooking", "performed"]
    ended = (
        MRIRequest.objects.filter(referral_id=OuterRef("pk"))
        .values("referral_id")
        .annotate(last=Max("updated_at"))
        .values("last")
    )
    still_open = MRIRequest.objects.filter(state__in=open_states).values("referral_id")
    Referral.objects.filter(mri_requested_at__isnull=False).exclude(pk__in=still_open).update(
        imaging_closed_at=Subquery(ended)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0004_patient_identity_unique"),
        ("imaging", "0004_imaging_access_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="imaging_closed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=Q(mri_requested_at__isnull=False), fields=["imaging_closed_at"], name="referral_imaging_window"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
