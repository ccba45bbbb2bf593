"""Sites, scanners, sessions and lists for the capacity tests, written straight to the database."""

from datetime import date, time

from imaging.capacity.models import AnaesthesiaList, Scanner, ScannerSession, Site

LONG_AGO = date(2020, 1, 1)


def site(name: str = "Royal Children's", time_zone: str = "Europe/London") -> Site:
    return Site.objects.get_or_create(name=name, defaults={"time_zone": time_zone})[0]


def scanner(name: str = "MR1", *, at: Site | None = None, sedation=False, ga=False, **kwargs) -> Scanner:
    return Scanner.objects.create(
        site=at or site(),
        name=name,
        field_strength="3T",
        takes_sedation=sedation,
        takes_general_anaesthesia=ga,
        **kwargs,
    )


def session(on: Scanner, weekday: int, start: str, end: str, *, since=LONG_AGO, until=None) -> ScannerSession:
    return ScannerSession.objects.create(
        scanner=on,
        weekday=weekday,
        start_time=time.fromisoformat(start),
        end_time=time.fromisoformat(end),
        valid_from=since,
        valid_until=until,
    )


def every_day(on: Scanner, start: str = "08:00", end: str = "18:00") -> None:
    for weekday in range(7):
        session(on, weekday, start, end)


def anaesthesia_list(at: Site, weekday: int, start: str, end: str, *, name="GA list", since=LONG_AGO, **kwargs):
    return AnaesthesiaList.objects.create(
        site=at,
        name=name,
        weekday=weekday,
        start_time=time.fromisoformat(start),
        end_time=time.fromisoformat(end),
        valid_from=since,
        **kwargs,
    )


def reserve(mri, on: Scanner, start, *, minutes=60, turnaround=0, kind="booking", sedation="none", **kwargs):
    """A reservation written directly (a booking gets its appointment), as the booking service would."""
    from datetime import timedelta

    from django.utils import timezone

    from imaging.models import Appointment, Reservation

    end = start + timedelta(minutes=minutes)
    appointment = None
    if kind == "booking":
        appointment = Appointment.objects.create(
            mri_request=mri,
            start=start,
            end=end,
            location=str(on),
            sedation=sedation,
            sedation_default=sedation,
            booked_by=mri.requested_by,
            booked_at=timezone.now(),
            status="booked" if not mri.appointments.filter(status="booked").exists() else "rescheduled",
        )
    return Reservation.objects.create(
        scanner=on,
        mri_request=mri,
        patient_id=mri.referral.patient_id,
        kind=kind,
        sedation=sedation,
        start=start,
        end=end,
        busy_until=end + timedelta(minutes=turnaround),
        appointment=appointment,
        expires_at=kwargs.pop("expires_at", timezone.now() + timedelta(minutes=10) if kind == "hold" else None),
        created_by=mri.requested_by,
        created_at=timezone.now(),
        **kwargs,
    )
