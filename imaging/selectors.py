"""Read queries for MRI requests and reports, with the referral's access rules applied."""

from django.db.models import QuerySet

from carepath.pathway import access

from .models import MRIRequest, NeuroradiologyReport


def mri_requests_visible_to(user) -> QuerySet[MRIRequest]:
    return MRIRequest.objects.filter(access.mri_request_q(user)).select_related(
        "referral__patient", "appointment", "report"
    )


def reports_visible_to(user) -> QuerySet[NeuroradiologyReport]:
    return NeuroradiologyReport.objects.filter(access.mri_request_q(user, prefix="mri_request__")).select_related(
        "mri_request__referral__patient", "signed_by"
    )
