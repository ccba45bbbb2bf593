"""The demo's MRI capacity (`seed_demo`, docs/capacity.md "Demo data"): one children's hospital site
with two scanners, their weekly sessions, two anaesthesia lists a week and two closures.

- "MRI 1 (3 T)": takes nurse-led sedation and general anaesthesia; Monday to Friday 08:00–18:00.
- "MRI 2 (1.5 T)": awake children only (and feed-and-wrap babies); Monday to Friday 09:00–17:00.
- The paediatric GA lists: Tuesday and Thursday mornings 08:00–12:30, at the same site.
- Closures: MRI 2's quarterly service next Wednesday morning; next Thursday's GA list (the
  anaesthetic team at a mandatory training day).

Running it again changes nothing (the site is found by name).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from .models import AnaesthesiaList, Closure, FieldStrength, Scanner, ScannerSession, Site, Weekday

SITE = "Children's Hospital, Imaging Department"
WEEKDAYS = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)


@transaction.atomic
def seed_capacity(today: date) -> dict[str, Scanner]:
    """The demo site's scanners by field strength ("3T", "1.5T"), created once; sessions valid from a
    year before `today` (the demo's past scans lie inside them too)."""
    site, created = Site.objects.get_or_create(
        name=SITE, defaults={"address": "Level 1, Children's Outpatients, 1 Hospital Road"}
    )
    if not created:
        return {s.field_strength: s for s in site.scanners.all()}
    since = today - timedelta(days=365)
    big = Scanner.objects.create(
        site=site,
        name="MRI 1 (3 T)",
        field_strength=FieldStrength.T3,
        takes_sedation=True,
        takes_general_anaesthesia=True,
    )
    small = Scanner.objects.create(site=site, name="MRI 2 (1.5 T)", field_strength=FieldStrength.T1_5)
    hours = {big: (time(8), time(18)), small: (time(9), time(17))}
    ScannerSession.objects.bulk_create(
        ScannerSession(scanner=scanner, weekday=day, start_time=start, end_time=end, valid_from=since)
        for scanner, (start, end) in hours.items()
        for day in WEEKDAYS
    )
    lists = {
        day: AnaesthesiaList.objects.create(
            site=site,
            name=f"{Weekday(day).label} morning paediatric GA list",
            weekday=day,
            start_time=time(8),
            end_time=time(12, 30),
            valid_from=since,
        )
        for day in (Weekday.TUESDAY, Weekday.THURSDAY)
    }
    zone = ZoneInfo(site.time_zone)

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    wednesday = _next(today, Weekday.WEDNESDAY)
    Closure.objects.create(
        site=site, scanner=small, start=at(wednesday, 8), end=at(wednesday, 13), reason="Quarterly service (vendor)"
    )
    thursday = _next(today, Weekday.THURSDAY)
    Closure.objects.create(
        site=site,
        anaesthesia_list=lists[Weekday.THURSDAY],
        start=at(thursday, 8),
        end=at(thursday, 12, 30),
        reason="Anaesthetic team at mandatory training",
    )
    return {big.field_strength: big, small.field_strength: small}


def _next(today: date, weekday: int) -> date:
    """That weekday in the coming week (never today)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
