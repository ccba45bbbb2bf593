"""MRI capacity (docs/capacity.md): sites, scanners, weekly sessions, anaesthesia lists, closures,
slot rules (seeded with the defaults below) and reservations with their exclusion constraints
(PostgreSQL: btree_gist lets one GiST index compare the scanner id and the time range)."""

import django.contrib.postgres.fields.ranges
from django.contrib.postgres.operations import BtreeGistExtension
import django.db.models.deletion
import imaging.capacity.models
from django.conf import settings
from django.db import migrations, models


# Time on the table and turnaround by sedation plan (minutes), for every protocol: an awake scan with a
# cooperative child is short; sedation and anaesthesia need induction, monitoring and hand-over to recovery.
DEFAULT_SLOT_RULES = {
    "none": (30, 10),
    "child_life_awake": (45, 10),
    "feed_and_wrap": (45, 15),
    "nurse_sedation": (60, 20),
    "general_anaesthesia": (60, 30),
}


def seed_slot_rules(apps, schema_editor):
    SlotRule = apps.get_model("imaging", "SlotRule")
    for sedation, (minutes, turnaround) in DEFAULT_SLOT_RULES.items():
        SlotRule.objects.get_or_create(
            protocol="", sedation=sedation, defaults={"minutes": minutes, "turnaround_minutes": turnaround}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("imaging", "0006_red_flag_and_early_scan_reason"),
        ("referrals", "0006_time_and_priority_rules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        BtreeGistExtension(),
        migrations.CreateModel(
            name="AnaesthesiaList",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ]
                    ),
                ),
                ("start_time", models.TimeField()),
                ("end_time", models.TimeField()),
                ("valid_from", models.DateField()),
                (
                    "valid_until",
                    models.DateField(blank=True, help_text="Last day it applies; empty: until changed.", null=True),
                ),
                ("name", models.CharField(help_text="e.g. Tuesday morning paediatric GA list", max_length=100)),
                ("active", models.BooleanField(default=True)),
            ],
            options={
                "ordering": ["site", "weekday", "start_time"],
            },
        ),
        migrations.CreateModel(
            name="Site",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("time_zone", models.CharField(default="Europe/London", max_length=64)),
                ("address", models.TextField(blank=True, help_text="Where families go; shown in appointment letters.")),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Scanner",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("modality", models.CharField(choices=[("MR", "MRI")], default="MR", max_length=8)),
                ("field_strength", models.CharField(choices=[("1.5T", "1.5 T"), ("3T", "3 T")], max_length=8)),
                (
                    "takes_sedation",
                    models.BooleanField(
                        default=False, help_text="Nurse-led sedation can be given here (monitoring, recovery bay)."
                    ),
                ),
                (
                    "takes_general_anaesthesia",
                    models.BooleanField(
                        default=False, help_text="MR-safe anaesthetic machine; GA scans also need an anaesthesia list."
                    ),
                ),
                (
                    "open_on_holidays",
                    models.BooleanField(default=False, help_text="Runs its sessions on the holiday calendar's days."),
                ),
                ("active", models.BooleanField(default=True)),
                (
                    "calendar_token",
                    models.CharField(
                        default=imaging.capacity.models._calendar_token,
                        help_text="Secret in the scanner's .ics feed address; change it to revoke the old address.",
                        max_length=64,
                        unique=True,
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="scanners", to="imaging.site"
                    ),
                ),
            ],
            options={
                "ordering": ["site__name", "name"],
            },
        ),
        migrations.CreateModel(
            name="Closure",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("start", models.DateTimeField()),
                ("end", models.DateTimeField()),
                ("reason", models.CharField(max_length=200)),
                (
                    "anaesthesia_list",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="closures",
                        to="imaging.anaesthesialist",
                    ),
                ),
                (
                    "scanner",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: all of the site.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="closures",
                        to="imaging.scanner",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="closures", to="imaging.site"
                    ),
                ),
            ],
            options={
                "ordering": ["start"],
            },
        ),
        migrations.AddField(
            model_name="anaesthesialist",
            name="site",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="anaesthesia_lists", to="imaging.site"
            ),
        ),
        migrations.CreateModel(
            name="SlotRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "protocol",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("cpa_t2_tof", "CPA: 3D heavily T2-weighted (CISS/FIESTA/SPACE) + 3D TOF MRA"),
                            ("cpa_t2_tof_gd", "CPA: T2 + TOF + post-contrast T1 (lesion suspected)"),
                            ("brain_routine_plus_cpa", "Routine brain + CPA sequences"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "sedation",
                    models.CharField(
                        choices=[
                            ("none", "None (awake)"),
                            ("feed_and_wrap", "Feed and wrap"),
                            ("child_life_awake", "Awake with play-specialist preparation"),
                            ("nurse_sedation", "Nurse-led sedation"),
                            ("general_anaesthesia", "General anaesthesia"),
                        ],
                        max_length=24,
                    ),
                ),
                ("minutes", models.PositiveSmallIntegerField()),
                (
                    "turnaround_minutes",
                    models.PositiveSmallIntegerField(
                        default=0,
                        help_text="Room turnaround (and recovery hand-over) after the scan; nothing else starts in it.",
                    ),
                ),
            ],
            options={
                "ordering": ["sedation", "protocol"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("protocol", "sedation"), name="one_slot_rule_per_protocol_and_sedation"
                    ),
                    models.CheckConstraint(condition=models.Q(("minutes__gt", 0)), name="slot_rule_minutes_positive"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Reservation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("hold", "Held"), ("booking", "Booked")], max_length=8)),
                (
                    "sedation",
                    models.CharField(
                        choices=[
                            ("none", "None (awake)"),
                            ("feed_and_wrap", "Feed and wrap"),
                            ("child_life_awake", "Awake with play-specialist preparation"),
                            ("nurse_sedation", "Nurse-led sedation"),
                            ("general_anaesthesia", "General anaesthesia"),
                        ],
                        max_length=24,
                    ),
                ),
                ("start", models.DateTimeField()),
                ("end", models.DateTimeField(help_text="When the scan ends.")),
                (
                    "busy_until",
                    models.DateTimeField(help_text="When the scanner is free again (the end plus turnaround)."),
                ),
                ("expires_at", models.DateTimeField(blank=True, help_text="When a hold lapses.", null=True)),
                ("created_at", models.DateTimeField()),
                ("released_at", models.DateTimeField(blank=True, null=True)),
                ("release_reason", models.CharField(blank=True, max_length=200)),
                ("override_reason", models.TextField(blank=True, help_text="Why an admin booked over a conflict.")),
                (
                    "anaesthesia_list",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reservations",
                        to="imaging.anaesthesialist",
                    ),
                ),
                (
                    "appointment",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reservation",
                        to="imaging.appointment",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "mri_request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reservations",
                        to="imaging.mrirequest",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="referrals.patient"
                    ),
                ),
                (
                    "scanner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="reservations", to="imaging.scanner"
                    ),
                ),
            ],
            options={
                "ordering": ["start", "id"],
                "indexes": [
                    models.Index(fields=["scanner", "start"], name="reservation_scanner_start"),
                    models.Index(fields=["patient", "start"], name="reservation_patient_start"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("end__gt", models.F("start"))), name="reservation_ends_after_start"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("busy_until__gte", models.F("end"))),
                        name="reservation_turnaround_not_negative",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("kind", "booking"), ("expires_at__isnull", False), _connector="OR"),
                        name="hold_has_expiry",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("kind", "hold"),
                            ("appointment__isnull", False),
                            ("released_at__isnull", False),
                            _connector="OR",
                        ),
                        name="live_booking_has_appointment",
                    ),
                    imaging.capacity.models.PostgresExclusion(
                        condition=models.Q(("override_reason", ""), ("released_at__isnull", True)),
                        expressions=[
                            (
                                imaging.capacity.models.TsTzRange(
                                    "start", "busy_until", django.contrib.postgres.fields.ranges.RangeBoundary()
                                ),
                                "&&",
                            ),
                            ("scanner", "="),
                        ],
                        name="no_double_booked_scanner",
                    ),
                    imaging.capacity.models.PostgresExclusion(
                        condition=models.Q(
                            ("override_reason", ""), ("released_at__isnull", True), ("anaesthesia_list__isnull", False)
                        ),
                        expressions=[
                            (
                                imaging.capacity.models.TsTzRange(
                                    "start", "busy_until", django.contrib.postgres.fields.ranges.RangeBoundary()
                                ),
                                "&&",
                            ),
                            ("anaesthesia_list", "="),
                        ],
                        name="no_double_booked_anaesthesia_list",
                    ),
                    imaging.capacity.models.PostgresExclusion(
                        condition=models.Q(("override_reason", ""), ("released_at__isnull", True)),
                        expressions=[
                            (
                                imaging.capacity.models.TsTzRange(
                                    "start", "end", django.contrib.postgres.fields.ranges.RangeBoundary()
                                ),
                                "&&",
                            ),
                            ("patient", "="),
                        ],
                        name="no_double_booked_child",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ScannerSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ]
                    ),
                ),
                ("start_time", models.TimeField()),
                ("end_time", models.TimeField()),
                ("valid_from", models.DateField()),
                (
                    "valid_until",
                    models.DateField(blank=True, help_text="Last day it applies; empty: until changed.", null=True),
                ),
                (
                    "scanner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="sessions", to="imaging.scanner"
                    ),
                ),
            ],
            options={
                "ordering": ["scanner", "weekday", "start_time"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("end_time__gt", models.F("start_time"))),
                        name="scanner_session_ends_after_start",
                    )
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="scanner",
            constraint=models.UniqueConstraint(fields=("site", "name"), name="scanner_name_unique_per_site"),
        ),
        migrations.AddConstraint(
            model_name="closure",
            constraint=models.CheckConstraint(
                condition=models.Q(("end__gt", models.F("start"))), name="closure_ends_after_start"
            ),
        ),
        migrations.AddConstraint(
            model_name="anaesthesialist",
            constraint=models.CheckConstraint(
                condition=models.Q(("end_time__gt", models.F("start_time"))), name="anaesthesia_list_ends_after_start"
            ),
        ),
        migrations.RunPython(seed_slot_rules, migrations.RunPython.noop),
    ]
