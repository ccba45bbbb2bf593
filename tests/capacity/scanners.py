"""A small MRI department for the booking tests: one site; MRI 1 and MRI 2 take sedation and general
anaesthesia, MRI 3 awake children only; all open 08:00–18:00 on weekdays; a GA list 09:00–13:00 on
weekdays."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from carepath.models import Holiday
from imaging.capacity.models import SlotRule

from . import places

# The slot rules the migration seeds (a transactional test's flush removes them): minutes + turnaround.
SLOT_RULES = {"none": (30, 10), "nurse_sedation": (60, 20), "general_anaesthesia": (60, 30)}


def department():
    for sedation, (minutes, turnaround) in SLOT_RULES.items():
        SlotRule.objects.get_or_create(
            protocol="", sedation=sedation, defaults={"minutes": minutes, "turnaround_minutes": turnaround}
        )
    site = places.site("Children's Hospital")
    big = places.scanner("MRI 1", at=site, sedation=True, ga=True)
    small = places.scanner("MRI 2", at=site, sedation=True, ga=True)
    awake = places.scanner("MRI 3", at=site)
    for weekday in range(5):
        for scanner in (big, small, awake):
            places.session(scanner, weekday, "08:00", "18:00")
        places.anaesthesia_list(site, weekday, "09:00", "13:00", name="Paediatric GA list")
    return site, big, small, awake


def request_for(pathway, **kw):
    """A protocoled MRI request of a new case (`pathway.protocoled`)."""
    return pathway.mri(pathway.protocoled(**kw))


def scan_day() -> date:
    """A Monday one to two weeks ahead that is not a bank holiday."""
    day = timezone.localdate() + timedelta(days=7)
    day += timedelta(days=-day.weekday() % 7)
    while Holiday.objects.filter(date=day).exists():
        day += timedelta(days=7)
    return day


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZoneInfo(settings.TIME_ZONE))
