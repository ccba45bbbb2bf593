"""Who imaging tells about what (docs/design.md §3 `amend_report`: whoever read the report is notified)."""

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

from carepath.models import AuditLog, case_reference
from carepath.notify import notifications

from .models import MRIRequest, ReportAddendum


def report_readers(mri: MRIRequest, *, exclude_user_id: int | None = None):
    """Everyone who opened the child's record since the report was signed, plus the requesting
    neurologist and whoever acknowledged the result; active users only."""
    report = mri.report
    viewers = AuditLog.objects.filter(
        action=AuditLog.Action.VIEW, patient_id=mri.referral.patient_id, at__gte=report.signed_at, actor__isnull=False
    ).values("actor_id")
    ids = {mri.requested_by_id, report.acknowledged_by_id} - {None}
    users = get_user_model().objects.filter(is_active=True).filter(pk__in=viewers) | get_user_model().objects.filter(
        is_active=True, pk__in=ids
    )
    return users.exclude(pk=exclude_user_id).distinct()


def report_amended(*, mri_request_id: int, addendum_id: int) -> list[int]:
    mri = MRIRequest.objects.select_related("referral__patient", "report").get(pk=mri_request_id)
    addendum = ReportAddendum.objects.get(pk=addendum_id)
    context = {
        "reference": case_reference(mri.referral_id),
        "initials": mri.referral.patient.initials,
        "link": notifications.case_link(mri.referral_id),
    }
    subject, _, body = render_to_string("email/report_amended.txt", context).strip().partition("\n")
    return notifications.notify(
        report_readers(mri, exclude_user_id=addendum.author_id),
        kind="report_amended",
        referral_id=mri.referral_id,
        subject=subject,
        body=body.strip(),
        dedupe_prefix=f"addendum:{addendum_id}",
    )
