"""The coordinator's calendar, one scanner's days (docs/capacity.md, "The coordinator's calendar"):
booked, held and free time in order, closures, holidays and the site's anaesthesia lists.

Free time is the scanner's open time (imaging/capacity/calendar.py: sessions minus closures and
holidays) not taken by a live reservation's scan or turnaround; a piece shorter than the slot grid
cannot take a scan and is not shown.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from carepath.timers.models import Holiday
from imaging.choices import FASTING_SEDATION

from . import calendar
from .ics import badge
from .models import Closure, Reservation, ReservationKind, Scanner

BOOKED, HELD, FREE, CLOSED = "booked", "held", "free", "closed"


def duration(minutes: int) -> str:
    """90 → "1 h 30 min"."""
    hours, rest = divmod(minutes, 60)
    return " ".join(p for p in (f"{hours} h" if hours else "", f"{rest} min" if rest or not hours else "") if p)


@dataclass
class Block:
    kind: str
    start: datetime
    end: datetime
    reservation: Reservation | None = None
    reason: str = ""  # a closure's
    in_ga_list: bool = False  # free time inside an anaesthesia list: GA can be booked here
    all_day: bool = False  # a closure covering the whole day

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def length(self) -> str:
        return duration(self.minutes)

    @property
    def badge(self) -> str:
        return badge(self.reservation.sedation) if self.reservation else ""

    @property
    def fasting(self) -> bool:
        r = self.reservation
        return r is not None and r.sedation in FASTING_SEDATION and r.appointment_id is not None

    @property
    def override(self) -> bool:
        return bool(self.reservation and self.reservation.override_reason)


@dataclass
class Day:
    date: date
    blocks: list[Block] = field(default_factory=list)
    ga_lists: list[calendar.Window] = field(default_factory=list)
    list_closures: list[Block] = field(default_factory=list)  # an anaesthesia list closed this day
    holiday: str = ""
    open_minutes: int = 0
    booked_minutes: int = 0

    @property
    def has_anything(self) -> bool:
        return bool(self.blocks or self.holiday or self.list_closures)


def _zone(scanner: Scanner) -> ZoneInfo:
    return ZoneInfo(scanner.site.time_zone or settings.TIME_ZONE)


def span(scanner: Scanner, first: date, last: date) -> tuple[datetime, datetime]:
    """From the start of `first` to the end of `last` at the scanner's site."""
    zone = _zone(scanner)
    return calendar.at(first, time.min, zone), calendar.at(last + timedelta(days=1), time.min, zone)


def days(scanner: Scanner, dates: list[date], reservations: list[Reservation]) -> list[Day]:
    """The scanner's `dates` (consecutive), given its live `reservations` around them."""
    first, last = dates[0], dates[-1]
    zone = _zone(scanner)
    windows = calendar.scanner_windows([scanner], first, last)[scanner.pk]
    lists = calendar.anaesthesia_windows([scanner.site], first, last)[scanner.site_id]
    start, end = span(scanner, first, last)
    mine = Q(scanner=scanner) | Q(scanner__isnull=True, anaesthesia_list__isnull=True)
    if scanner.takes_general_anaesthesia:  # a closed list is why no GA can be booked that morning
        mine |= Q(anaesthesia_list__isnull=False, anaesthesia_list__active=True)
    closures = list(
        Closure.objects.filter(mine, site=scanner.site_id, start__lt=end, end__gt=start).select_related(
            "anaesthesia_list"
        )
    )
    holidays = dict(Holiday.objects.filter(date__gte=first, date__lte=last).values_list("date", "name"))
    result = []
    for on in dates:
        day_start, day_end = calendar.at(on, time.min, zone), calendar.at(on + timedelta(days=1), time.min, zone)

        def today(items, day_start=day_start, day_end=day_end):
            return [x for x in items if x.start < day_end and day_start < x.end]

        result.append(
            _day(
                scanner,
                on,
                (day_start, day_end),
                windows=today(windows),
                lists=today(lists) if scanner.takes_general_anaesthesia else [],
                closures=today(closures),
                reservations=[r for r in reservations if day_start <= r.start < day_end],
                holiday="" if scanner.open_on_holidays else holidays.get(on, ""),
            )
        )
    return result


def _split(start: datetime, end: datetime, lists: list[calendar.Window]) -> list[tuple[datetime, datetime]]:
    """Free time cut where an anaesthesia list starts or ends, so a piece is wholly in or out of one."""
    cuts = sorted({t for w in lists for t in (w.start, w.end) if start < t < end})
    points = [start, *cuts, end]
    return list(zip(points, points[1:], strict=False))


def _day(scanner, on, bounds, *, windows, lists, closures, reservations, holiday) -> Day:
    day = Day(date=on, ga_lists=lists, holiday=holiday, open_minutes=sum(w.minutes for w in windows))
    for c in closures:
        start, end = max(c.start, bounds[0]), min(c.end, bounds[1])
        block = Block(CLOSED, start, end, reason=c.reason, all_day=(start, end) == bounds)
        (day.list_closures if c.anaesthesia_list_id else day.blocks).append(block)
    for r in reservations:
        kind = HELD if r.kind == ReservationKind.HOLD else BOOKED
        day.blocks.append(Block(kind, r.start, r.end, reservation=r))
        if kind == BOOKED:
            day.booked_minutes += int((r.busy_until - r.start).total_seconds() // 60)
    grid = timedelta(minutes=getattr(settings, "CAREPATH_SLOT_GRID_MINUTES", 15))
    busy = [(r.start, r.busy_until) for r in reservations]
    for start, end in calendar.subtract([(w.start, w.end) for w in windows], busy):
        for a, b in _split(start, end, lists):
            if b - a >= grid:
                day.blocks.append(Block(FREE, a, b, in_ga_list=any(w.start <= a and b <= w.end for w in lists)))
    day.blocks.sort(key=lambda b: (b.start, b.kind))
    return day
