"""`manage.py seed_demo`: demo users for every role and cases in every state (docs/design.md §8).

Every case is built through the real services, with the clock set back so that timelines, due
dates and overdue items look like a working service; every scan is booked on the demo's scanners
(imaging/capacity/demo.py) through the booking service, referrals/demo_week.py fills the coming
week and referrals/demo_together.py adds notes, files, handing on, MDT meetings and follow-up.
Refuses without DEBUG unless --force. Running it again changes nothing.
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

from carepath.pathway import audit
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role, ensure_role_groups, get_system_user
from imaging import reports as imaging_reports
from imaging import services as imaging
from imaging.capacity.demo import seed_capacity
from imaging.choices import ReportCategory
from referrals import demo_together, demo_week, intake, samples, services
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
                try_this = demo_together.WHAT_TO_TRY.get(username, "")
                self.stdout.write(f"{username:<14} {Role(role).label:<22} {try_this}".rstrip())
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
            seed_capacity(timezone.localdate())
            self.stdout.write("Demo data already loaded.")
            return
        self.now = timezone.now()
        self.scanners = seed_capacity(timezone.localdate())
        for story in STORIES + demo_together.STORIES + demo_week.STORIES:
            story(self)
        demo_together.seed(self)  # notes, files, handing on, MDT meetings, follow-up (issue 18)
        counts = ", ".join(f"{s}: {n}" for s, n in _state_counts())
        self.stdout.write(f"Demo data loaded ({counts}).\nAva's family's upload link (shown once): {self.family_link}")

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
        if guardians is None:
            guardians = [samples.guardian(f"Jo {family}", f"+447700900{n:03d}", f"{family.lower()}.family@example.org")]
        names = {"mrn": f"DEMO{n:04d}", "given_name": given, "family_name": family}
        return self.act(120, intake.patient_create, referrer, **names, birth_date=birth, sex=sex, guardians=guardians)

    def refer(self, patient, days_ago, *, referrer="dr.khan", onset_days=200, priority=Priority.ROUTINE, **fields):
        """A referral with the sample's reason and side unless the story says otherwise."""
        data = {"reason": samples.REFERRAL["reason"], "side": samples.REFERRAL["side"], "clinical_notes": "", **fields}
        muscles, red_flags = list(data.pop("muscles", ["orbicularis_oculi"])), list(data.pop("red_flags", []))
        onset = max(patient.birth_date, (self.ago(days=onset_days)).date())
        return self.act(
            days_ago,
            intake.referral_create,
            referrer,
            patient_id=patient.pk,
            symptom_onset=onset,
            muscles=muscles,
            red_flags=red_flags,
            requested_priority=priority,
            spread=len(muscles) > 1,
            frequency="several_daily",
            **data,
        )

    def child(self, n, given, family, days_ago, *, years=0, months=0, sex="female", guardians=None, **refer):
        """A new child (number `n` of the demo), referred `days_ago` by `referrer` (dr.khan by default)."""
        referrer = refer.get("referrer", "dr.khan")
        p = self.patient(n, given, family, years=years, months=months, sex=sex, guardians=guardians, referrer=referrer)
        return self.refer(p, days_ago, **refer)

    def to_mri(self, r, *, triage, assess, request, protocol=None, assessment=None, lesion=False, **question):
        """Triage, assess and request the MRI (and protocol it, when given), each so many days ago; a
        suspected `lesion` asks for the contrast protocol."""
        self.triage(r, triage)
        self.assess(r, assess, **(assessment or {}))
        mri = self.request_mri(r, request, suspected_lesion=lesion, **question)
        if protocol is not None:
            self.protocol(mri, protocol, lesion=lesion)
        return mri

    def scan(self, mri, *, booked, scanned):
        """Booked `booked` days ago into the first free slot from the weekday `scanned` days ago, and
        scanned then."""
        slot = self.schedule(mri, booked, self.weekday(-scanned))
        self.perform(mri, slot.end)

    def act(self, days_ago, service, username, **kwargs):
        """Call a service as the demo user `username`, `days_ago` days ago (or at a datetime)."""
        return self.step(days_ago, service, actor=self.users[username], **kwargs)

    def step(self, days_ago, func, **kwargs):
        with clock(days_ago if isinstance(days_ago, datetime) else self.ago(days=days_ago)):
            return func(**kwargs)

    def triage(self, r, days_ago, priority=None):
        priority = priority or (Priority.ASAP if r.red_flags else r.requested_priority)
        return self.act(days_ago, services.referral_triage, "dr.patel", referral_id=r.pk, priority=priority)

    def assess(self, r, days_ago, **overrides):
        assessment = {**samples.ASSESSMENT, **overrides}
        return self.act(days_ago, services.referral_record_assessment, "dr.patel", referral_id=r.pk, **assessment)

    def request_mri(self, r, days_ago, suspected_lesion=False, question=samples.CLINICAL_QUESTION):
        request = {"clinical_question": question, "suspected_lesion": suspected_lesion}
        return self.act(
            days_ago, services.referral_request_mri, "dr.patel", referral_id=r.pk, **request
        ).mri_requests.get()

    def protocol(self, mri, days_ago, lesion=False):
        plan = {"protocol": "cpa_t2_tof_gd" if lesion else "cpa_t2_tof", "contrast": lesion, "duration_minutes": 45}
        return self.act(days_ago, imaging.mri_protocol, "dr.garcia", mri_request_id=mri.pk, **plan)

    def slot(self, mri, days_ago, start: datetime, scanner=None, sedation=None):
        """The first free slot from `start` as the coordinator saw it `days_ago` days ago."""
        found = {"scanners": self.scanners, "mri": mri, "start": start, "scanner": scanner, "sedation": sedation}
        return self.step(days_ago, demo_week.first_slot, **found)

    def schedule(self, mri, days_ago, start: datetime, scanner=None, **kwargs):
        """Booked `days_ago` days ago through the booking service, into the first free slot from `start`."""
        slot = self.slot(mri, days_ago, start, scanner, kwargs.get("sedation"))
        booking = {"scheduled_start": slot.start, "scanner": slot.scanner_id, **kwargs}
        self.act(days_ago, imaging.mri_schedule, "coord.jones", mri_request_id=mri.pk, **booking)
        return slot

    def perform(self, mri, when: datetime):
        scan = {"accession_number": f"RAD{mri.pk:07d}", "performed_at": when}
        return self.act(when, imaging.mri_mark_performed, "coord.jones", mri_request_id=mri.pk, **scan)

    def report(self, mri, days_ago, findings, impression, category=ReportCategory.ROUTINE):
        report = {"findings": findings, "impression": impression, "category": category}
        self.act(days_ago, imaging_reports.mri_sign_report, "dr.garcia", mri_request_id=mri.pk, **report)
        return self.step(days_ago, services.referral_imaging_complete, referral_id=mri.referral_id, actor=self.system)

    def at_nine(self, days_ahead) -> datetime:
        day = (self.now + timedelta(days=days_ahead)).date()
        return timezone.make_aware(datetime.combine(day, time(9, 0)))

    def weekday(self, days_ahead) -> datetime:
        return demo_week.weekday(self.now, days_ahead)


def _state_counts():
    from django.db.models import Count

    return Referral.objects.values_list("state").annotate(n=Count("id")).order_by("state")


# --- the stories: one function per child ----------------------------------------------------------
def infant_red_flag(s):
    """Noah, 5 months: twitching since 3 months of age (onset in infancy is a red flag): awaiting triage."""
    referral = {"reason": "Right eyelid twitching since age 3 months, several times a day.", "side": "right"}
    flags = {"red_flags": ["onset_in_infancy"], "priority": Priority.ASAP, "onset_days": 60}
    s.child(1, "Noah", "Bennett", 0, months=5, sex="male", **flags, **referral)


def returned_for_details(s):
    """Ava, 10: neurology asked the referrer whether the twitching happens in sleep."""
    r = s.child(2, "Ava", "Collins", 6, years=10, referrer="dr.osei", reason="Eye twitching, worse with stress.")
    question = "Does the twitching continue in sleep? Any video from the family?"
    s.act(4, services.referral_return_to_referrer, "dr.li", referral_id=r.pk, reason=question)


def awaiting_first_visit_with_was_not_brought(s):
    """Ethan, 8: triaged routine; was not brought to the first clinic, a review is open."""
    r = s.child(3, "Ethan", "Walker", 40, years=8, sex="male")
    s.triage(r, 38)
    note = "Did not attend clinic; family not reachable by phone."
    s.act(9, services.referral_record_was_not_brought, "dr.patel", referral_id=r.pk, note=note)


def assessed_deciding(s):
    """Grace, 12: assessed, MRI indicated, request not yet made."""
    r = s.child(4, "Grace", "Hughes", 30, years=12)
    s.triage(r, 28)
    s.assess(r, 1)


def ga_four_year_old(s):
    """Oliver, 4: needs general anaesthesia for the MRI (age default); scheduled with fasting times."""
    r = s.child(5, "Oliver", "Price", 22, years=4, sex="male", priority=Priority.URGENT)
    mri = s.to_mri(r, triage=21, assess=9, request=8, protocol=7)
    s.schedule(mri, 5, s.at_nine(5))


def awake_teenager(s):
    """Maya, 13: scanned awake (age default), appointment tomorrow."""
    r = s.child(6, "Maya", "Reid", 50, years=13, muscles=("orbicularis_oculi", "orbicularis_oris"))
    severity = {"severity": {"scale": "jankovic", "score": 3}}
    mri = s.to_mri(r, triage=48, assess=25, request=25, protocol=24, assessment=severity)
    s.schedule(mri, 10, s.at_nine(1))


def mri_requested_overdue_protocol(s):
    """Zara, 9: MRI requested three days ago, not yet protocoled (overdue)."""
    s.to_mri(s.child(7, "Zara", "Ahmed", 45, years=9), triage=44, assess=5, request=3)


def protocoled_awaiting_booking(s):
    """Aisha, 7: protocoled, waiting for the coordinator to book."""
    r = s.child(8, "Aisha", "Begum", 30, years=7, referrer="dr.osei")
    s.to_mri(r, triage=29, assess=10, request=10, protocol=9)


def not_brought_to_mri(s):
    """Sofia, 5: not brought to the MRI; rebooking needed and a neurologist review is open."""
    mri = s.to_mri(s.child(9, "Sofia", "Lopez", 60, years=5), triage=58, assess=40, request=40, protocol=39)
    slot = s.schedule(mri, 30, s.ago(days=12))  # a GA list
    s.act(slot.end + timedelta(hours=1), imaging.mri_record_was_not_brought, "coord.jones", mri_request_id=mri.pk)


def performed_awaiting_report(s):
    """Jack, 11: scanned yesterday, awaiting the neuroradiology report."""
    r = s.child(10, "Jack", "Turner", 55, years=11, sex="male")
    s.scan(s.to_mri(r, triage=54, assess=30, request=30, protocol=29), booked=20, scanned=1)


def critical_posterior_fossa_lesion(s):
    """Finn, 6: headaches, ataxia and twitching; MRI shows a fourth-ventricle mass (critical result)."""
    reason = "Left facial twitching with morning vomiting and a new unsteady gait."
    flags = {"red_flags": ["morning_headache_vomiting", "ataxia_gait_change"], "priority": Priority.ASAP}
    r = s.child(11, "Finn", "O'Brien", 9, years=6, sex="male", onset_days=40, reason=reason, **flags)
    secondary = {"working_diagnosis": "hfs_secondary", "brow_lift_sign": False}
    mri = s.to_mri(
        r,
        triage=9,
        assess=8,
        request=8,
        protocol=8,
        assessment=secondary,
        lesion=True,
        question="Posterior fossa mass?",
    )
    slot = s.schedule(mri, 8, s.ago(days=7, hours=2))  # the next GA list
    s.perform(mri, slot.end)
    s.report(mri, 0, samples.FINDINGS_MASS, samples.IMPRESSION_MASS, category=ReportCategory.CRITICAL)


def nvc_to_neurosurgery(s):
    """Isla, 11: left AICA compressing the facial nerve root exit zone; referred for MVD opinion."""
    r = s.child(12, "Isla", "Fraser", 90, years=11, muscles=("orbicularis_oculi", "buccinator", "orbicularis_oris"))
    severity = {"severity": {"scale": "smc", "score": 3}}
    mri = s.to_mri(r, triage=88, assess=70, request=70, protocol=69, assessment=severity)
    s.scan(mri, booked=60, scanned=40)
    s.report(mri, 38, samples.FINDINGS_NVC, samples.IMPRESSION_NVC)
    question = "Botulinum toxin helps only briefly. Is she a candidate for microvascular decompression?"
    s.act(20, services.referral_refer_neurosurgery, "dr.patel", referral_id=r.pk, question=question)


def tic_without_mri(s):
    """Leo, 9: a motor tic; no MRI needed; concluded, awaiting the pediatrician's acknowledgement."""
    reason = "Blinking and eye squeezing, can hold it back briefly."
    r = s.child(13, "Leo", "Murphy", 40, years=9, sex="male", referrer="dr.osei", reason=reason, side="bilateral")
    s.triage(r, 39)
    findings = "Suppressible bilateral blinking with premonitory urge; normal examination."
    s.assess(r, 12, working_diagnosis="tic", brow_lift_sign=False, mri_indicated=False, findings=findings)
    outcome = {"diagnosis": "tic", "plan": "discharge", "follow_up": "Re-refer if new features."}
    letter = "Dear Dr Osei, Leo has a simple motor tic. No imaging is needed ..."
    waived = "Typical tic; no red flags."
    s.act(
        12,
        services.referral_conclude,
        "dr.patel",
        referral_id=r.pk,
        **outcome,
        imaging_waived_reason=waived,
        letter=letter,
    )


def closed_loop(s):
    """Ruby, 14: normal MRI, treated with botulinum toxin, the referrer acknowledged the outcome (her
    injections and the case's reopening: referrals/demo_together.py)."""
    ruby = s.child(14, "Ruby", "Evans", 180, years=14, onset_days=360)
    mri = s.to_mri(ruby, triage=178, assess=150, request=150, protocol=149)
    s.scan(mri, booked=140, scanned=120)
    s.report(mri, 118, samples.FINDINGS_NORMAL, samples.IMPRESSION_NORMAL)
    demo_together.conclude(s, 90, mri.referral_id, follow_up="Injections every 3 months.")
    s.act(87, services.referral_acknowledge, "dr.khan", referral_id=mri.referral_id)


def declined(s):
    """Harry, 15: eyelid myokymia after exam stress: declined with advice."""
    r = s.child(
        15, "Harry", "Wood", 20, years=15, sex="male", reason="Lower eyelid flicker for two weeks during exams."
    )
    advice = {
        "reason": "Benign eyelid myokymia.",
        "advice": "Reassure; sleep and less caffeine; re-refer if it spreads.",
    }
    s.act(19, services.referral_decline, "dr.li", referral_id=r.pk, **advice)


def cancelled(s):
    """Mia, 6: family moved away while the MRI was booked; case cancelled."""
    mri = s.to_mri(s.child(16, "Mia", "Scott", 70, years=6), triage=69, assess=50, request=50, protocol=49)
    reason = "Family moved to another region; referred locally."
    s.act(45, services.referral_cancel, "dr.khan", referral_id=mri.referral_id, reason=reason)


def results_to_review(s):
    """Ella, 10: normal MRI reported; the neurologist has to review it with the family."""
    r = s.child(17, "Ella", "Ward", 48, years=10, guardians=[])
    mri = s.to_mri(r, triage=47, assess=30, request=30, protocol=29)
    s.scan(mri, booked=25, scanned=10)
    s.report(mri, 6, samples.FINDINGS_NORMAL, "Normal MRI of the posterior fossa and cerebellopontine angles.")


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
