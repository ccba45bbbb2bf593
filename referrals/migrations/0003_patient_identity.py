"""Patient identity (issue 13 item 9): the MRN's normalised key and the name's, filled for every
existing row; then 0004 makes the key unique. The normalisation is copied here as it was written
(carepath/pathway/identity.py), so this migration means the same thing whenever it runs.

Two existing records whose MRNs normalise to the same key are one child registered twice: this
migration stops and names them, rather than merge clinical records on its own. Merge them (move the
referrals to one record in the admin or the shell), then migrate again."""

import unicodedata

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)


def _clean(value):
    return unicodedata.normalize("NFKC", str(value or "")).translate(INVISIBLE).strip()


def _fold(value):
    return unicodedata.normalize("NFKC", _clean(value).casefold())


def normalise(apps, schema_editor):
    Patient = apps.get_model("referrals", "Patient")
    rows = list(Patient.objects.values_list("pk", "mrn", "given_name", "family_name"))
    seen, clashes = {}, []
    for pk, mrn, _given, _family in rows:
        key = _fold(mrn)
        if key in seen:
            clashes.append(f"{seen[key]} and {pk} (MRN {mrn!r})")
        seen.setdefault(key, pk)
    if clashes:
        raise RuntimeError(
            "These patient records have MRNs that are the same once normalised (one child registered "
            "twice); merge each pair, then migrate again: " + "; ".join(clashes)
        )
    for pk, mrn, given, family in rows:
        Patient.objects.filter(pk=pk).update(
            mrn=_clean(mrn), mrn_key=_fold(mrn), name_key=" ".join(_fold(f"{family} {given}").split())
        )


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0002_list_order_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PatientShare",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("shared_at", models.DateTimeField()),
                (
                    "clinician",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="shares", to="referrals.patient"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("clinician", "patient"), name="patient_share_once")]
            },
        ),
        migrations.AddField(
            model_name="patient",
            name="mrn_key",
            field=models.CharField(editable=False, max_length=64, null=True, verbose_name="MRN, normalised"),
        ),
        migrations.AddField(
            model_name="patient",
            name="name_key",
            field=models.CharField(default="", editable=False, max_length=210, verbose_name="name, normalised"),
        ),
        migrations.RunPython(normalise, migrations.RunPython.noop),
    ]
