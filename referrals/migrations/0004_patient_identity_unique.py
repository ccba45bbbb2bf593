"""The normalised MRN is unique (a database constraint), not the MRN as written; indexes for the
near-duplicate check and the staff search (issue 13 items 9 and 10)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0003_patient_identity")]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="mrn_key",
            field=models.CharField(
                editable=False,
                help_text="NFKC, trimmed, case-folded.",
                max_length=64,
                unique=True,
                verbose_name="MRN, normalised",
            ),
        ),
        migrations.AlterField(
            model_name="patient",
            name="mrn",
            field=models.CharField(help_text="Medical record number", max_length=32, verbose_name="MRN"),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["birth_date", "name_key"], name="patient_birth_name"),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["name_key"], name="patient_name_prefix", opclasses=["varchar_pattern_ops"]),
        ),
    ]
