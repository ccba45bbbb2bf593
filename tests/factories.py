"""Factories and a pathway driver: build cases in any state through the real services."""

from datetime import date, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from carepath.pathway.roles import Role, get_system_user
from referrals import samples
from referrals.samples import ASSESSMENT, CONCLUSION, FINDINGS_NVC

User = get_user_model()
PASSWORD = "pathway-test-pw-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        self.save()


def user_with_role(role: str, username: str | None = None):
    return UserFactory(role=role, **({"username": username} if username else {}))


_mrn = iter(range(10**6, 10**7))


def make_patient(actor, *, birth_date: date | None = None, guardians=None, **kwargs):
    from referrals import intake

    if guardians is None:
        guardians = [samples.guardian()]
    return intake.patient_create(
        actor=actor,
        mrn=kwargs.pop("mrn", f"MRN{next(_mrn)}"),
        given_name=kwargs.pop("given_name", "Alex"),
        family_name=kwargs.pop("family_name", "Morgan"),
        birth_date=birth_date or timezone.localdate() - timedelta(days=365 * 8),
        sex=kwargs.pop("sex", "female"),
        guardians=guardians,
        # every default child is "Alex Morgan", born the same day: a near-duplicate of the last one
        # (referrals/patients.py); tests of that rule pass False
        confirm_new_patient=kwargs.pop("confirm_new_patient", True),
        **kwargs,
    )


def make_referral(pediatrician, *, patient=None, **overrides):
    from referrals import intake

    patient = patient or make_patient(pediatrician)
    data = {**samples.REFERRAL, "symptom_onset": timezone.localdate() - timedelta(days=180), **overrides}
    if data["red_flags"] and "requested_priority" not in overrides:
        data["requested_priority"] = "asap"  # as the referral form asks (referrals/rules.py)
    return intake.referral_create(actor=pediatrician, patient_id=patient.pk, **data)


EARLY_SCAN = "A slot came free on an earlier list."


def snapshot(referral_id: int) -> dict:
    """Everything a refused transition must leave untouched."""
    from django.forms.models import model_to_dict

    from carepath.models import AuditLog, CaseEvent, WorkItem
    from imaging.models import MRIRequest
    from referrals.models import Referral

    referral = Referral.objects.get(pk=referral_id)
    mris = [model_to_dict(m) for m in MRIRequest.objects.filter(referral_id=referral_id).order_by("pk")]
    return {
        "referral": model_to_dict(referral),
        "updated_at": referral.updated_at,
        "mri": mris,
        "events": CaseEvent.objects.filter(referral_id=referral_id).count(),
        "items": list(WorkItem.objects.filter(referral_id=referral_id).order_by("pk").values()),
        "audit": AuditLog.objects.count(),
    }


def make_notification(user, *, referral=None, work_item=None, key="n1", kind="test", subject="Something happened"):
    """A notification to `user`, as the services write them (unread)."""
    from carepath.models import Notification

    return Notification.objects.create(
        recipient=user,
        referral=referral,
        work_item=work_item,
        kind=kind,
        subject=subject,
        dedupe_key=key,
        created_at=timezone.now(),
    )


def result_alert(user, referral):
    """An alert to `user` about the case's critical or urgent result (its acknowledgement step)."""
    from carepath.models import WorkItemKind

    item = referral.work_items.get(kind=WorkItemKind.CRITICAL_RESULT_ACK)
    subject = "Action needed now: acknowledge a critical or urgent MRI result"
    return make_notification(
        user, referral=referral, work_item=item, kind="alert", subject=subject, key=f"test:{user.pk}:{item.pk}"
    )


def claim_triage(user, referral):
    """`user` takes the case's triage step (carepath/pathway/ownership.py): the item, now theirs."""
    from carepath.models import WorkItem, WorkItemKind
    from carepath.pathway import workitems

    item = WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)
    return workitems.work_item_claim(work_item_id=item.pk, actor=user)


class Pathway:
    """Drives one case through the real services, step by step, with one user per role."""

    def __init__(self, *, pediatrician, neurologist, coordinator, neuroradiologist, neurosurgeon=None):
        self.ped, self.neuro, self.coord = pediatrician, neurologist, coordinator
        self.rad, self.surg = neuroradiologist, neurosurgeon

    def submitted(self, **kw):
        return make_referral(self.ped, **kw)

    def triaged(self, **kw):
        from referrals import services

        r = self.submitted(**kw)
        return services.referral_triage(
            referral_id=r.pk, actor=self.neuro, priority="asap" if r.red_flags else "routine"
        )

    def assessed(self, **kw):
        from referrals import services

        r = self.triaged(**kw)
        return services.referral_record_assessment(referral_id=r.pk, actor=self.neuro, **ASSESSMENT)

    def imaging(self, suspected_lesion=False, **kw):
        from referrals import services

        r = self.assessed(**kw)
        return services.referral_request_mri(
            referral_id=r.pk,
            actor=self.neuro,
            clinical_question=samples.CLINICAL_QUESTION,
            suspected_lesion=suspected_lesion,
        )

    def mri(self, referral):
        return referral.mri_requests.get(
            state__in=("requested", "protocoled", "scheduled", "needs_rebooking", "performed", "reported")
        )

    def protocoled(self, **kw):
        from imaging import services

        r = self.imaging(**kw)
        services.mri_protocol(
            mri_request_id=self.mri(r).pk, actor=self.rad, protocol="cpa_t2_tof_gd", contrast=True, duration_minutes=45
        )
        return r

    def scheduled(self, **kw):
        from imaging import services

        r = self.protocoled(**kw)
        mri = self.mri(r)
        services.mri_schedule(
            mri_request_id=mri.pk,
            actor=self.coord,
            scheduled_start=timezone.now() + timedelta(days=10),
            location="MRI scanner 2",
            sedation=None,
        )
        return r

    def performed(self, **kw):
        from imaging import services

        r = self.scheduled(**kw)
        mri = self.mri(r)
        services.mri_mark_performed(
            mri_request_id=mri.pk,
            actor=self.coord,
            accession_number=f"ACC{mri.pk:08d}",
            performed_at=timezone.now(),
            early_scan_reason=EARLY_SCAN,  # booked 10 days ahead, scanned now (imaging/rules.py)
        )
        return r

    def results_review(self, category="routine", **kw):
        from imaging import reports as imaging_reports
        from referrals import services

        r = self.performed(**kw)
        imaging_reports.mri_sign_report(
            mri_request_id=self.mri(r).pk,
            actor=self.rad,
            findings=FINDINGS_NVC,
            impression=samples.IMPRESSION_NVC,
            category=category,
        )
        return services.referral_imaging_complete(referral_id=r.pk, actor=get_system_user())

    def neurosurgery(self, **kw):
        from referrals import services

        r = self.results_review(**kw)
        return services.referral_refer_neurosurgery(referral_id=r.pk, actor=self.neuro, question="MVD candidate?")

    def concluded(self, **kw):
        from referrals import services

        r = self.results_review(**kw)
        return services.referral_conclude(referral_id=r.pk, actor=self.neuro, **CONCLUSION)

    def closed(self, **kw):
        from referrals import services

        r = self.concluded(**kw)
        return services.referral_acknowledge(referral_id=r.pk, actor=self.ped)


__all__ = ["UserFactory", "Pathway", "make_patient", "make_referral", "user_with_role", "Role"]
