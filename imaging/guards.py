"""The MRI transitions' guards: pure checks of the locked MRI request and the action's input,
declared on each `Transition` (imaging/machine.py) and run by `Machine.check` before anything is
written. Each raises a DomainError naming the field (docs/decisions.md, "Clinical rules")."""

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from carepath.pathway.dates import age_in_months
from carepath.pathway.errors import InvalidData

from . import report_rules
from .choices import AppointmentStatus, MRIState, Sedation
from .rules import check_booking, check_not_brought, check_performed, mass_suspected, sedation_default


def lesion_needs_contrast(mri, data: dict) -> None:
    if mri.suspected_lesion and not data["contrast"]:
        raise InvalidData(
            {
                "contrast": "A lesion is suspected: the protocol needs gadolinium contrast "
                "(CPA: T2 + TOF + post-contrast T1)."
            }
        )


def booking_in_time(mri, data: dict) -> None:
    """In the future, and within a year."""
    check_booking(data["scheduled_start"], now=timezone.now())


def default_sedation(mri, data: dict) -> str:
    """The sedation the rules give this child on the scan day (the service records it too)."""
    scan_day = timezone.localdate(data["scheduled_start"])
    birth_date = mri.referral.patient.birth_date
    return sedation_default(birth_date=birth_date, on=scan_day, mass_suspected=mass_suspected(mri))


def other_sedation_needs_reason(mri, data: dict) -> None:
    default = default_sedation(mri, data)
    chosen = data.get("sedation") or default
    if chosen != default and not data.get("sedation_override_reason", "").strip():
        scan_day = timezone.localdate(data["scheduled_start"])
        message = _sedation_refusal(default, mri.referral.patient.birth_date, scan_day)
        raise InvalidData({"sedation_override_reason": message})


def _sedation_refusal(default: str, birth_date: date, scan_day: date) -> str:
    """Says the age on the scan day: the form starts at today's default, which differs when the
    child crosses an age band before the scan (a 6-year-old booked after their 7th birthday)."""
    months = age_in_months(birth_date, scan_day)
    age = f"{months} months" if months < 24 else f"{months // 12} years"
    return (
        f"On the scan day ({scan_day.day} {scan_day:%b %Y}) the child is {age} old, so the default is "
        f"{Sedation(default).label}: choose it, or say here why you chose otherwise."
    )


def rebook_changes_sedation(mri, data: dict) -> None:
    """A scan that failed under one sedation plan is not booked again with the same plan."""
    chosen = data.get("sedation") or default_sedation(mri, data)
    failed = mri.appointments.filter(status=AppointmentStatus.SCAN_FAILED).order_by("-booked_at").first()
    if failed is not None and failed.sedation == chosen and mri.state == MRIState.NEEDS_REBOOKING:
        raise InvalidData(
            {"sedation": f"The last scan failed with {Sedation(chosen).label}: choose a different sedation plan."}
        )


def appointment_started(mri, data: dict) -> None:
    check_not_brought(mri.appointment.start, now=timezone.now())


def appointment_and_grace_passed(mri, data: dict) -> None:
    if data["now"] < mri.appointment.end + timedelta(minutes=settings.MRI_MISSED_GRACE_MINUTES):
        raise InvalidData("The appointment and its grace period have not passed yet.")


def performed_in_time(mri, data: dict) -> None:
    check_performed(
        data["performed_at"],
        now=timezone.now(),
        requested_at=mri.requested_at,
        appointment_start=mri.appointment.start if mri.appointment else None,
        reason=data.get("early_scan_reason", ""),
    )


def accession_number_unique(mri, data: dict) -> None:
    if type(mri).objects.filter(accession_number=data["accession_number"]).exclude(pk=mri.pk).exists():
        raise InvalidData({"accession_number": "This accession number belongs to another study."})


def report_consistent(mri, data: dict) -> None:
    """The report as a whole (imaging/report_rules.py)."""
    report_rules.check(data["findings"], data["category"])
