"""A referral received from an EHR: checked as the REST API checks it (the same serializers),
written by the intake's services (the same guards, audit and notifications), once per placer
order number. The `PlacerOrder` row is written first in the transaction: a second POST with the
same number waits on the unique index until the first commits, then finds its referral."""

from django.db import IntegrityError
from django.utils import timezone

from carepath.db import writes
from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.errors import DomainError
from referrals import intake, selectors
from referrals.inputs import ReferralDetailsInput
from referrals.models import Referral
from referrals.serializers import PatientSerializer

from .mapping import Order
from .models import PlacerOrder
from .outcome import FhirProblem, field_issues, from_domain


def receive(*, actor, order: Order) -> tuple[Referral, bool]:
    """The referral for this order, and whether it was created now (else it was received before)."""
    patient, details = _checked(order)
    existing = _existing(actor, order.placer)
    if existing is not None:
        return existing, False
    try:
        return _create(actor, order, patient, details), True
    except IntegrityError:  # another request with the same number committed first
        existing = _existing(actor, order.placer)
        if existing is None:
            raise
        return existing, False
    except DomainError as exc:
        raise from_domain(exc) from None


def _checked(order: Order) -> tuple[dict, dict]:
    """The serializers the REST API uses for patients and referrals, so a value refused there is
    refused here too (control characters, lengths, choices, dates in the future)."""
    patient = PatientSerializer(data=order.patient)
    details = ReferralDetailsInput(data=order.referral)
    issues = []
    if not patient.is_valid():
        issues += field_issues(patient.errors)
    if not details.is_valid():
        issues += field_issues(details.errors)
    if issues:
        raise FhirProblem(422, issues)
    return dict(patient.validated_data), dict(details.validated_data)


@writes.atomic
def _create(actor, order: Order, patient: dict, details: dict) -> Referral:
    system, value = order.placer
    # first: a concurrent POST of the same number blocks here, then fails (`receive` catches it)
    placed = PlacerOrder.objects.create(system=system, value=value, client=actor, received_at=timezone.now())
    child = intake.patient_create(actor=actor, **patient)
    referral = intake.referral_create(actor=actor, patient_id=child.pk, referred_by=order.referred_by, **details)
    placed.referral = referral
    placed.save(update_fields=["referral"])
    audit.record(actor, AuditLog.Action.CREATE, placed, {"placer": str(placed), "referral": referral.pk})
    return referral


def _existing(actor, placer: tuple[str, str]) -> Referral | None:
    """The referral a first POST with this number created; a number another client used for a case
    this one cannot see is a conflict, not a leak."""
    system, value = placer
    placed = PlacerOrder.objects.filter(system=system, value=value).first()
    if placed is None:
        return None
    referral = (
        selectors.referrals_visible_to(actor).filter(pk=placed.referral_id).select_related("placer_order").first()
    )
    if referral is None:
        raise FhirProblem(409, [("ServiceRequest.identifier", "This placer identifier was used already.", "duplicate")])
    audit.record_view(actor, referral, "fhir-conditional-create")
    return referral
