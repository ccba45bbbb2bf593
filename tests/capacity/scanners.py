"""A small MRI department for the booking tests: one site, a GA-capable scanner and an awake-only
one, both open 08:00–18:00 on weekdays, and a GA list 09:00–13:00 on weekdays."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from imaging.capacity.models import AnaesthesiaList, Scanner, ScannerSession, Site

WEEKDAYS = range(5)


def department():
    site = Site.objects.create(name="Children's Hospital")
    since = timezone.localdate() - timedelta(days=1)
    big = Scanner.objects.create(
        site=site, name="MRI 1", field_strength="3T", takes_sedation=True, takes_general_anaesthesia=True
    )
    small = Scanner.objects.create(
        site=site, name="MRI 2", field_strength="1.5T", takes_sedation=True, takes_general_anaesthesia=True
    )
    awake = Scanner.objects.create(site=site, name="MRI 3", field_strength="1.5T")
    for scanner in (big, small, awake):
        for day in WEEKDAYS:
            ScannerSession.objects.create(
                scanner=scanner, weekday=day, start_time=time(8), end_time=time(18), valid_from=since
            )
    for day in WEEKDAYS:
        AnaesthesiaList.objects.create(
            site=site, name="Paediatric GA list", weekday=day, start_time=time(9), end_time=time(13), valid_from=since
        )
    return site, big, small, awake


def scan_day() -> date:
    """A Monday one to two weeks ahead."""
    day = timezone.localdate() + timedelta(days=7)
    return day + timedelta(days=-day.weekday() % 7)


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(settings.TIME_ZONE))
