"""Imaging staff see ended MRI requests for a while after their last change: an index for that
condition (carepath/pathway/access.py, docs/security.md)."""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("imaging", "0003_reading_queue_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="mrirequest",
            index=models.Index(
                condition=Q(state__in=["reported", "cancelled"]), fields=["updated_at"], name="mrirequest_closed_recent"
            ),
        ),
    ]
