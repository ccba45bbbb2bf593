"""`manage.py seed_demo`: demo users for every role and cases in every state (docs/design.md §8).

Every case is built through the real services, with the clock set back so that timelines, due
dates and overdue items look like a working service. Refuses without DEBUG unless --force.
Running it again changes nothing.
"""

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from carepath import audit
from carepath.roles import Role, ensure_role_groups, get_system_user
from imaging import services as imaging
from referrals import services
from referrals.models import Patient, Referral

DEMO_PASSWORD = "carepath-demo"
USERS = [
    ("dr.khan", Role.PEDIATRICIAN, "Aisha", "Khan"),
    ("dr.osei", Role.PEDIATRICIAN, "Kwame", "Osei"),
    ("dr.patel", Role.NEUROLOGIST, "Priya", "Patel"),
    ("dr.li", Role.NEUROLOGIST, "Wei", "Li"),
    ("coord.jones", Role.IMAGING_COORDINATOR, "Megan", "Jones"),
    ("dr.garcia", Role.NEURORADIOLOGIST, "Lucia", "Garcia"),
    ("dr.novak", Role.NEUROSURGEON, "Tomas", "Novak"),
    ("admin", Role.ADMIN, "Alex", "Admin"),
    ("ehr.client", Role.EHR_CLIENT, "EHR", "integration"),
    ("ris.client", Role.RIS_CLIENT, "RIS", "integration"),
]
ASSESSMENT = dict(
    findings="Brief clonic contractions of the left orbicularis oculi spreading to the cheek; "
    "no weakness; otherwise normal neurological examination.",
    working_diagnosis="hfs_primary",
    brow_lift_sign=True,
    severity={"scale": "smc", "score": 2},
    mri_indicated=True,
)
NVC = {
    "nvc": {
        "status": "present",
        "side": "left",
        "vessel": "aica",
        "segment": "root_exit_point",
        "severity": "indentation",
        "multiple": False,
    },
    "lesion": {"present": False},
    "arachnoid_cyst": False,
    "adhesions": False,
    "hydrocephalus": False,
    "other": "",
}
MASS = {
    "nvc": {"status": "absent"},
    "lesion": {"present": True, "location": "fourth_ventricle", "kind": "enhancing mass, likely medulloblastoma"},
    "arachnoid_cyst": False,
    "adhesions": False,
    "hydrocephalus": True,
    "other": "Early obstructive hydrocephalus.",
}
NORMAL = {
    "nvc": {"status": "absent"},
    "lesion": {"present": False},
    "arachnoid_cyst": False,
    "adhesions": False,
    "hydrocephalus": False,
    "other": "",
}


@contextmanager
def clock(moment: datetime):
    """Run the services as if it were `moment` (timelines get realistic times)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


class Command(BaseCommand):
    help = "Load demo users for every role and cases in every state. Refuses without DEBUG unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--list-users", action="store_true", help="Print the demo logins and exit.")
        parser.add_argument("--print-password", action="store_true", help="Print the demo password and exit.")

    def handle(self, *args, force, list_users, print_password, **options):
        if print_password:
            self.stdout.write(DEMO_PASSWORD)
            return
        if list_users:
            for username, role, *_ in USERS:
                self.stdout.write(f"{username:<14} {Role(role).label}")
            return
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo loads made-up patients: it refuses to run with DEBUG off (use --force).")
        token = audit.set_channel("command")
        try:
            self._seed()
        finally:
            audit.reset_channel(token)

    @transaction.atomic
    def _seed(self):
        ensure_role_groups()
        self.users = {username: self._user(username, role, first, last) for username, role, first, last in USERS}
        self.system = get_system_user()
        if Patient.objects.filter(mrn__startswith="DEMO").exists():
            self.stdout.write("Demo data already loaded.")
            return
        self.now = timezone.now()
        for story in STORIES:
            story(self)
        counts = ", ".join(f"{s}: {n}" for s, n in _state_counts())
        self.stdout.write(f"Demo data loaded ({counts}).")

    def _user(self, username, role, first, last):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.save()
            user.groups.add(Group.objects.get(name=role))
        return user

    # --- helpers used by the stories ---------------------------------------------------------------
    def ago(self, days=0, hours=0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def patient(self, n, given, family, *, years=0, months=0, sex="female", guardians=None, referrer="dr.khan"):
        birth = self.now.date() - timedelta(days=int(years * 365.25 + months * 30.44))
        guardians = (
            guardians
            if guardians is not None
            else [
                {
                    "name": f"Jo {family}",
                    "relationship": "mother",
                    "phone": "+447700900" + f"{n:03d}",
                    "email": f"{family.lower()}.family@example.org",
                    "has_parental_responsibility": True,
                }
            ]
        )
        with clock(self.ago(days=120)):
            return services.patient_create(
                actor=self.users[referrer],
                mrn=f"DEMO{n:04d}",
                given_name=given,
                family_name=family,
                birth_date=birth,
                sex=sex,
                guardians=guardians,
            )

    def refer(
        self,
        patient,
        days_ago,
        *,
        referrer="dr.khan",
        onset_days=200,
        red_flags=(),
        priority="routine",
        reason="Twitching around the left eye, now spreading to the cheek.",
        muscles=("orbicularis_oculi",),
        side="left",
        notes="",
    ):
        onset = max(patient.birth_date, (self.ago(days=onset_days)).date())
        with clock(self.ago(days=days_ago)):
            return services.referral_create(
                actor=self.users[referrer],
                patient_id=patient.pk,
                reason=reason,
                symptom_onset=onset,
                side=side,
                muscles=list(muscles),
                red_flags=list(red_flags),
                requested_priority=priority,
                clinical_notes=notes,
                spread=len(muscles) > 1,
                frequency="several_daily",
            )

    def step(self, days_ago, func, **kwargs):
        with clock(self.ago(days=days_ago)):
            return func(**kwargs)

    def triage(self, r, days_ago, priority=None):
        priority = priority or ("asap" if r.red_flags else r.requested_priority)
        return self.step(
            days_ago, services.referral_triage, referral_id=r.pk, actor=self.users["dr.patel"], priority=priority
        )

    def assess(self, r, days_ago, **overrides):
        return self.step(
            days_ago,
            services.referral_record_assessment,
            referral_id=r.pk,
            actor=self.users["dr.patel"],
            **{**ASSESSMENT, **overrides},
        )

    def request_mri(self, r, days_ago, suspected_lesion=False, question="Neurovascular compression of CN VII?"):
        r = self.step(
            days_ago,
            services.referral_request_mri,
            referral_id=r.pk,
            actor=self.users["dr.patel"],
            clinical_question=question,
            suspected_lesion=suspected_lesion,
        )
        return r.mri_requests.get()

    def protocol(self, mri, days_ago, lesion=False):
        return self.step(
            days_ago,
            imaging.mri_protocol,
            mri_request_id=mri.pk,
            actor=self.users["dr.garcia"],
            protocol="cpa_t2_tof_gd" if lesion else "cpa_t2_tof",
            contrast=lesion,
            duration_minutes=45,
        )

    def schedule(self, mri, days_ago, start: datetime, **kwargs):
        return self.step(
            days_ago,
            imaging.mri_schedule,
            mri_request_id=mri.pk,
            actor=self.users["coord.jones"],
            scheduled_start=start,
            location="Children's MRI, scanner 2",
            **kwargs,
        )

    def perform(self, mri, days_ago):
        return self.step(
            days_ago,
            imaging.mri_mark_performed,
            mri_request_id=mri.pk,
            actor=self.users["coord.jones"],
            accession_number=f"RAD{mri.pk:07d}",
            performed_at=self.ago(days=days_ago),
        )

    def report(self, mri, days_ago, findings, impression, category="routine"):
        self.step(
            days_ago,
            imaging.mri_sign_report,
            mri_request_id=mri.pk,
            actor=self.users["dr.garcia"],
            findings=findings,
            impression=impression,
            category=category,
        )
        return self.step(days_ago, services.referral_imaging_complete, referral_id=mri.referral_id, actor=self.system)

    def at_nine(self, days_ahead) -> datetime:
        day = (self.now + timedelta(days=days_ahead)).date()
        return timezone.make_aware(datetime.combine(day, time(9, 0)))


def _state_counts():
    from django.db.models import Count

    return Referral.objects.values_list("state").annotate(n=Count("id")).order_by("state")


# --- the stories: one function per child ----------------------------------------------------------
def infant_red_flag(s):
    """Noah, 5 months: twitching since 3 months of age (onset in infancy is a red flag): awaiting triage."""
    p = s.patient(1, "Noah", "Bennett", months=5, sex="male")
    s.refer(
        p,
        0,
        onset_days=60,
        red_flags=["onset_in_infancy"],
        priority="asap",
        reason="Right eyelid twitching since age 3 months, several times a day.",
        side="right",
    )


def returned_for_details(s):
    """Ava, 10: neurology asked the referrer whether the twitching happens in sleep."""
    p = s.patient(2, "Ava", "Collins", years=10, referrer="dr.osei")
    r = s.refer(p, 6, referrer="dr.osei", reason="Eye twitching, worse with stress.")
    s.step(
        4,
        services.referral_return_to_referrer,
        referral_id=r.pk,
        actor=s.users["dr.li"],
        reason="Does the twitching continue in sleep? Any video from the family?",
    )


def awaiting_first_visit_with_was_not_brought(s):
    """Ethan, 8: triaged routine; was not brought to the first clinic, a review is open."""
    p = s.patient(3, "Ethan", "Walker", years=8, sex="male")
    r = s.refer(p, 40)
    s.triage(r, 38)
    s.step(
        9,
        services.referral_record_was_not_brought,
        referral_id=r.pk,
        actor=s.users["dr.patel"],
        note="Did not attend clinic; family not reachable by phone.",
    )


def assessed_deciding(s):
    """Grace, 12: assessed, MRI indicated, request not yet made."""
    p = s.patient(4, "Grace", "Hughes", years=12)
    r = s.refer(p, 30)
    s.triage(r, 28)
    s.assess(r, 1)


def ga_four_year_old(s):
    """Oliver, 4: needs general anaesthesia for the MRI (age default); scheduled with fasting times."""
    p = s.patient(5, "Oliver", "Price", years=4, sex="male")
    r = s.refer(p, 22, priority="urgent")
    s.triage(r, 21, "urgent")
    s.assess(r, 9)
    mri = s.request_mri(r, 8)
    s.protocol(mri, 7)
    s.schedule(mri, 5, s.at_nine(5))


def awake_teenager(s):
    """Maya, 13: scanned awake (age default), appointment tomorrow."""
    p = s.patient(6, "Maya", "Reid", years=13)
    r = s.refer(p, 50, muscles=("orbicularis_oculi", "orbicularis_oris"))
    s.triage(r, 48)
    s.assess(r, 25, severity={"scale": "jankovic", "score": 3})
    mri = s.request_mri(r, 25)
    s.protocol(mri, 24)
    s.schedule(mri, 10, s.at_nine(1))


def mri_requested_overdue_protocol(s):
    """Zara, 9: MRI requested three days ago, not yet protocoled (overdue)."""
    p = s.patient(7, "Zara", "Ahmed", years=9)
    r = s.refer(p, 45)
    s.triage(r, 44)
    s.assess(r, 5)
    s.request_mri(r, 3)


def protocoled_awaiting_booking(s):
    """Aisha, 7: protocoled, waiting for the coordinator to book."""
    p = s.patient(8, "Aisha", "Begum", years=7, referrer="dr.osei")
    r = s.refer(p, 30, referrer="dr.osei")
    s.triage(r, 29)
    s.assess(r, 10)
    mri = s.request_mri(r, 10)
    s.protocol(mri, 9)


def not_brought_to_mri(s):
    """Sofia, 5: not brought to the MRI; rebooking needed and a neurologist review is open."""
    p = s.patient(9, "Sofia", "Lopez", years=5)
    r = s.refer(p, 60)
    s.triage(r, 58)
    s.assess(r, 40)
    mri = s.request_mri(r, 40)
    s.protocol(mri, 39)
    s.schedule(mri, 30, s.ago(days=4))
    s.step(3, imaging.mri_record_was_not_brought, mri_request_id=mri.pk, actor=s.users["coord.jones"])


def performed_awaiting_report(s):
    """Jack, 11: scanned yesterday, awaiting the neuroradiology report."""
    p = s.patient(10, "Jack", "Turner", years=11, sex="male")
    r = s.refer(p, 55)
    s.triage(r, 54)
    s.assess(r, 30)
    mri = s.request_mri(r, 30)
    s.protocol(mri, 29)
    s.schedule(mri, 20, s.ago(days=1))
    s.perform(mri, 1)


def critical_posterior_fossa_lesion(s):
    """Finn, 6: headaches, ataxia and twitching; MRI shows a fourth-ventricle mass (critical result)."""
    p = s.patient(11, "Finn", "O'Brien", years=6, sex="male")
    r = s.refer(
        p,
        9,
        red_flags=["morning_headache_vomiting", "ataxia_gait_change"],
        priority="asap",
        reason="Left facial twitching with morning vomiting and a new unsteady gait.",
        onset_days=40,
    )
    s.triage(r, 9)
    s.assess(r, 8, working_diagnosis="hfs_secondary", brow_lift_sign=False)
    mri = s.request_mri(r, 8, suspected_lesion=True, question="Posterior fossa mass?")
    s.protocol(mri, 8, lesion=True)
    s.schedule(mri, 7.9, s.ago(days=7, hours=2))
    s.perform(mri, 7)
    s.report(mri, 0, MASS, "Enhancing fourth-ventricle mass with early hydrocephalus.", category="critical")


def nvc_to_neurosurgery(s):
    """Isla, 11: left AICA compressing the facial nerve root exit zone; referred for MVD opinion."""
    p = s.patient(12, "Isla", "Fraser", years=11)
    r = s.refer(p, 90, muscles=("orbicularis_oculi", "buccinator", "orbicularis_oris"))
    s.triage(r, 88)
    s.assess(r, 70, severity={"scale": "smc", "score": 3})
    mri = s.request_mri(r, 70)
    s.protocol(mri, 69)
    s.schedule(mri, 60, s.ago(days=40))
    s.perform(mri, 40)
    s.report(mri, 38, NVC, "Left AICA loop indenting the root exit zone of the facial nerve.")
    s.step(
        20,
        services.referral_refer_neurosurgery,
        referral_id=r.pk,
        actor=s.users["dr.patel"],
        question="Botulinum toxin helps only briefly. Is she a candidate for microvascular decompression?",
    )


def tic_without_mri(s):
    """Leo, 9: a motor tic; no MRI needed; concluded, awaiting the pediatrician's acknowledgement."""
    p = s.patient(13, "Leo", "Murphy", years=9, sex="male", referrer="dr.osei")
    r = s.refer(
        p,
        40,
        referrer="dr.osei",
        reason="Blinking and eye squeezing, can hold it back briefly.",
        side="bilateral",
        muscles=("orbicularis_oculi",),
    )
    s.triage(r, 39)
    s.assess(
        r,
        12,
        working_diagnosis="tic",
        brow_lift_sign=False,
        mri_indicated=False,
        findings="Suppressible bilateral blinking with premonitory urge; normal examination.",
    )
    s.step(
        12,
        services.referral_conclude,
        referral_id=r.pk,
        actor=s.users["dr.patel"],
        diagnosis="tic",
        plan="discharge",
        follow_up="Re-refer if new features.",
        imaging_waived_reason="Typical tic; no red flags.",
        letter="Dear Dr Osei, Leo has a simple motor tic. No imaging is needed ...",
    )


def closed_loop(s):
    """Ruby, 14: normal MRI, treated with botulinum toxin, the referrer acknowledged the outcome."""
    p = s.patient(14, "Ruby", "Evans", years=14)
    r = s.refer(p, 150)
    s.triage(r, 148)
    s.assess(r, 120)
    mri = s.request_mri(r, 120)
    s.protocol(mri, 119)
    s.schedule(mri, 110, s.ago(days=90))
    s.perform(mri, 90)
    s.report(mri, 88, NORMAL, "Normal MRI; no neurovascular compression demonstrated.")
    s.step(
        60,
        services.referral_conclude,
        referral_id=r.pk,
        actor=s.users["dr.patel"],
        diagnosis="hfs_primary",
        plan="botulinum_toxin",
        follow_up="Injections every 3 months.",
        letter="Dear Dr Khan, ...",
    )
    s.step(57, services.referral_acknowledge, referral_id=r.pk, actor=s.users["dr.khan"])


def declined(s):
    """Harry, 15: eyelid myokymia after exam stress: declined with advice."""
    p = s.patient(15, "Harry", "Wood", years=15, sex="male")
    r = s.refer(p, 20, reason="Lower eyelid flicker for two weeks during exams.")
    s.step(
        19,
        services.referral_decline,
        referral_id=r.pk,
        actor=s.users["dr.li"],
        reason="Benign eyelid myokymia.",
        advice="Reassure; sleep and less caffeine; re-refer if it spreads.",
    )


def cancelled(s):
    """Mia, 6: family moved away while the MRI was booked; case cancelled."""
    p = s.patient(16, "Mia", "Scott", years=6)
    r = s.refer(p, 70)
    s.triage(r, 69)
    s.assess(r, 50)
    mri = s.request_mri(r, 50)
    s.protocol(mri, 49)
    s.step(
        45,
        services.referral_cancel,
        referral_id=r.pk,
        actor=s.users["dr.khan"],
        reason="Family moved to another region; referred locally.",
    )


def results_to_review(s):
    """Ella, 10: normal MRI reported; the neurologist has to review it with the family."""
    p = s.patient(17, "Ella", "Ward", years=10, guardians=[])
    r = s.refer(p, 48)
    s.triage(r, 47)
    s.assess(r, 30)
    mri = s.request_mri(r, 30)
    s.protocol(mri, 29)
    s.schedule(mri, 25, s.ago(days=10))
    s.perform(mri, 10)
    s.report(mri, 6, NORMAL, "Normal MRI of the posterior fossa and cerebellopontine angles.")


STORIES = [
    infant_red_flag,
    returned_for_details,
    awaiting_first_visit_with_was_not_brought,
    assessed_deciding,
    ga_four_year_old,
    awake_teenager,
    mri_requested_overdue_protocol,
    protocoled_awaiting_booking,
    not_brought_to_mri,
    performed_awaiting_report,
    critical_posterior_fossa_lesion,
    nvc_to_neurosurgery,
    tic_without_mri,
    closed_loop,
    declined,
    cancelled,
    results_to_review,
]
