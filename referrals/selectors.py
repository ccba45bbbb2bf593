"""Read queries for referrals and patients, with access rules applied (carepath/pathway/access.py)."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from carepath.models import WorkItem, WorkItemStatus
from carepath.pathway import access

from .models import Patient, Referral


def open_items_due_before(when) -> Exists:
    return Exists(WorkItem.objects.filter(referral=OuterRef("pk"), status=WorkItemStatus.OPEN, due_at__lt=when))


def sent_by_q(user) -> Q:
    """Referrals `user` sent: as their referrer, or as the EHR client that sent them (My referrals
    and the API's `referred_by=me`). Anyone else, a neurologist say, sent none."""
    return Q(referred_by=user) | Q(created_by=user)


def referrals_visible_to(user) -> QuerySet[Referral]:
    return Referral.objects.filter(access.referral_q(user)).select_related("patient", "referred_by")


def referral_detail(user, pk: int) -> Referral:
    """One referral with what its page shows; raises Referral.DoesNotExist if not visible."""
    from imaging.models import MRIRequest

    mri_requests = MRIRequest.objects.select_related("appointment", "report").order_by("requested_at")
    open_items = WorkItem.objects.filter(status=WorkItemStatus.OPEN).select_related("assigned_to")
    return (
        referrals_visible_to(user)
        .select_related("assessment", "outcome", "created_by")
        .prefetch_related(
            "patient__guardians",
            "consults",
            Prefetch("mri_requests", queryset=mri_requests),
            Prefetch("work_items", queryset=open_items, to_attr="open_work_items"),
        )
        .get(pk=pk)
    )


def patients_visible_to(user) -> QuerySet[Patient]:
    return Patient.objects.filter(access.patient_q(user)).prefetch_related("guardians")
