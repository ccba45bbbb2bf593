"""Times an MRI request's record cannot contradict, checked by the services before anything is
written, so a refusal changes nothing (docs/decisions.md, "Clinical rules"). Each raises
`RuleBroken` (422 in the API, an error beside its field on a page)."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from carepath.pathway.dates import age_in_months
from carepath.pathway.errors import RuleBroken

from .choices import Sedation

# A booking for "now" typed into a minute-precision field is a few seconds old by the time it is
# sent; the same allowance lets a scan's time run a little ahead of this server's clock.
CLOCK_SLACK = timedelta(minutes=5)
BOOKING_HORIZON = timedelta(days=366)


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%d %b %Y %H:%M}"


def check_booking(start: datetime, *, now: datetime) -> None:
    if start < now - CLOCK_SLACK:
        raise RuleBroken({"scheduled_start": "The appointment must be in the future: this time has passed."})
    if start > now + BOOKING_HORIZON:
        raise RuleBroken({"scheduled_start": "The appointment must be within a year."})


def check_performed(
    performed_at: datetime, *, now: datetime, requested_at: datetime, appointment_start: datetime | None, reason: str
) -> None:
    """A scan is performed after it was requested and not before its appointment's day (the same
    day is fine: lists run early or late). An earlier day needs a documented early-scan reason."""
    if performed_at > now + CLOCK_SLACK:
        raise RuleBroken({"performed_at": "A scan cannot be performed in the future."})
    if performed_at < requested_at.replace(second=0, microsecond=0):  # forms give times to the minute
        raise RuleBroken({"performed_at": f"The scan cannot be before the MRI was requested ({_local(requested_at)})."})
    if appointment_start is None or reason.strip():
        return
    day, booked = timezone.localdate(performed_at), timezone.localdate(appointment_start)
    if day < booked:
        raise RuleBroken(
            {
                "performed_at": f"The scan is dated {day:%d %b %Y}, before its appointment day "
                f"({booked:%d %b %Y}). Check the date, or give the early-scan reason."
            }
        )


def check_not_brought(appointment_start: datetime, *, now: datetime) -> None:
    """A child is recorded as not brought once the appointment has come, never before it starts."""
    if now < appointment_start:
        raise RuleBroken(
            f"The appointment at {_local(appointment_start)} has not started yet: a child can be recorded "
            "as not brought only once it has."
        )


# Flags that suggest raised intracranial pressure or a posterior-fossa mass (docs/design.md §3).
RAISED_ICP_FLAGS = frozenset({"papilloedema", "morning_headache_vomiting", "central_neuro_signs", "ataxia_gait_change"})


def sedation_default(*, birth_date: date, on: date, mass_suspected: bool) -> str:
    """Feed-and-wrap under 6 months, general anaesthesia from 6 months to 6 years and whenever a
    posterior-fossa mass or raised pressure is suspected, awake from 7 years (bands are settings)."""
    if mass_suspected:
        return Sedation.GENERAL_ANAESTHESIA
    months = age_in_months(birth_date, on)
    if months < settings.SEDATION_FEED_AND_WRAP_UNDER_MONTHS:
        return Sedation.FEED_AND_WRAP
    if months < settings.SEDATION_AWAKE_FROM_YEARS * 12:
        return Sedation.GENERAL_ANAESTHESIA
    return Sedation.NONE


def mass_suspected(mri) -> bool:
    return mri.suspected_lesion or bool(RAISED_ICP_FLAGS & set(mri.referral.red_flags))
