"""The weekly templates expanded into concrete open time (docs/capacity.md, "Open time"), the live
reservations of a range, and each scanner's utilisation per week.

A session is a wall-clock time in its site's time zone: Monday 08:00–12:00 is 08:00 local on every
Monday, before and after a daylight-saving change, so its UTC instant moves by an hour. Open time is
the sessions of each day minus the closures (of the scanner or anaesthesia list, and of its whole
site) and, unless the scanner runs on holidays, minus the days of the holiday calendar (the one the
SLA clocks use). Anaesthesia lists never run on holidays.

Every time returned is an aware datetime in UTC; a few queries per call, never one per day, and none
when the templates were read before for a longer span (`read_templates`)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from carepath.pathway import sla

from .models import AnaesthesiaList, Closure, Reservation, ReservationKind, Scanner, ScannerSession, Site

# The longest a reservation may last (scan plus turnaround). Reservations overlapping a range are
# found through the (scanner, start) index by their start, from this long before the range.
MAX_RESERVATION = timedelta(hours=24)

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Window:
    """Open time of one scanner (`owner_id` a scanner id) or anaesthesia list (a list id)."""

    start: datetime
    end: datetime
    owner_id: int
    name: str = ""
    session_start: datetime | None = None  # where the session this is part of starts (the slot grid's origin)

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def at(day: date, wall_clock: time, tz: ZoneInfo) -> datetime:
    """The instant (UTC) a wall-clock time of a day has in a time zone: 08:00 on a summer day in
    London is 07:00 UTC, on a winter day 08:00 UTC. A time the clocks skip counts as before the jump."""
    return datetime.combine(day, wall_clock, tzinfo=tz).astimezone(UTC)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _bounds(first: date, last: date) -> Span:
    """A UTC span that holds the days first..last in any time zone."""
    return at(first, time.min, UTC) - timedelta(days=1), at(last, time.min, UTC) + timedelta(days=2)


def subtract(spans: Iterable[Span], cuts: Iterable[Span]) -> list[Span]:
    """`spans` with every part that lies in one of `cuts` removed."""
    cuts = sorted(cuts)
    result = []
    for start, end in sorted(spans):
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= end:
                continue
            if cut_start > start:
                result.append((start, cut_start))
            start = max(start, cut_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def _applies(row, day: date) -> bool:
    return (
        row.weekday == day.weekday() and row.valid_from <= day and (row.valid_until is None or day <= row.valid_until)
    )


def _expand(rows, first: date, last: date, tz: ZoneInfo, *, skip: frozenset[date]) -> list[Span]:
    spans = []
    for day in days(first, last):
        if day in skip:
            continue
        spans += [(at(day, r.start_time, tz), at(day, r.end_time, tz)) for r in rows if _applies(r, day)]
    return spans


def _valid_between(first: date, last: date) -> Q:
    return Q(valid_from__lte=last) & (Q(valid_until__isnull=True) | Q(valid_until__gte=first))


def _open(spans: list[Span], cuts: list[Span], owner_id: int, name: str = "") -> list[Window]:
    """Each session's open parts, earliest first; each part remembers where its session starts."""
    windows = []
    for span in sorted(spans):
        windows += [Window(s, e, owner_id, name, span[0]) for s, e in subtract([span], cuts)]
    return windows


def _closures(site_ids: set[int], first: date, last: date) -> list[Closure]:
    start, end = _bounds(first, last)
    return list(Closure.objects.filter(site_id__in=site_ids, start__lt=end, end__gt=start))


@dataclass(frozen=True)
class Templates:
    """What open time is made of, read for a span of days: the weekly sessions of some scanners (by
    scanner id), the active anaesthesia lists of some sites, and the closures at all those sites.
    `scanner_windows` and `anaesthesia_windows` expand them for any days inside the span without
    reading again: a search reads them once and expands a week at a time (imaging/capacity/finder.py)."""

    sessions: dict[int, list[ScannerSession]]
    lists: list[AnaesthesiaList]
    closures: list[Closure]


def read_templates(scanners: Iterable[Scanner], list_sites: Iterable[Site], first: date, last: date) -> Templates:
    """The templates of `scanners` and of the anaesthesia lists at `list_sites` valid on some day of
    first..last, and the closures of their sites overlapping those days: up to three queries."""
    scanners = list(scanners)
    scanner_ids, list_site_ids = [s.pk for s in scanners], [site.pk for site in list_sites]
    sessions = defaultdict(list)
    if scanner_ids:
        for row in ScannerSession.objects.filter(_valid_between(first, last), scanner__in=scanner_ids):
            sessions[row.scanner_id].append(row)
    lists = []
    if list_site_ids:
        rows = AnaesthesiaList.objects.filter(_valid_between(first, last), site__in=list_site_ids, active=True)
        lists = list(rows)
    site_ids = {s.site_id for s in scanners} | set(list_site_ids)
    closures = _closures(site_ids, first, last) if site_ids else []
    return Templates(dict(sessions), lists, closures)


def scanner_windows(
    scanners: Iterable[Scanner], first: date, last: date, *, templates: Templates | None = None
) -> dict[int, list[Window]]:
    """Each scanner's open time on the days first..last (its site's days), earliest first. Pass the
    scanners with their sites loaded (`select_related("site")`), and `templates` read for a span
    holding first..last to read nothing."""
    scanners = list(scanners)
    if not scanners:
        return {}
    if templates is None:
        templates = read_templates(scanners, (), first, last)
    holidays = sla.holidays()
    windows = {}
    for scanner in scanners:
        skip = frozenset() if scanner.open_on_holidays else holidays
        sessions = templates.sessions.get(scanner.pk, [])
        spans = _expand(sessions, first, last, zone(scanner.site.time_zone), skip=skip)
        cuts = [
            (c.start, c.end)
            for c in templates.closures
            if c.site_id == scanner.site_id
            and (c.scanner_id == scanner.pk or (c.scanner_id is None and c.anaesthesia_list_id is None))
        ]
        windows[scanner.pk] = _open(spans, cuts, scanner.pk)
    return windows


def anaesthesia_windows(
    sites: Iterable[Site], first: date, last: date, *, templates: Templates | None = None
) -> dict[int, list[Window]]:
    """Per site (id), the open time of its active anaesthesia lists on the days first..last, earliest
    first; each window names its list (`owner_id`, `name`). `templates` as for `scanner_windows`."""
    sites = {site.pk: site for site in sites}
    if not sites:
        return {}
    if templates is None:
        templates = read_templates((), sites.values(), first, last)
    holidays = sla.holidays()
    windows = {site_id: [] for site_id in sites}
    for row in templates.lists:
        if row.site_id not in sites:
            continue
        spans = _expand([row], first, last, zone(sites[row.site_id].time_zone), skip=holidays)
        cuts = [
            (c.start, c.end)
            for c in templates.closures
            if c.site_id == row.site_id
            and (c.anaesthesia_list_id == row.pk or (c.scanner_id is None and c.anaesthesia_list_id is None))
        ]
        windows[row.site_id] += _open(spans, cuts, row.pk, row.name)
    for found in windows.values():
        found.sort(key=lambda w: (w.start, w.owner_id))
    return windows


def live(now: datetime | None = None) -> Q:
    """Reservations that take time: not released, and not a hold that has lapsed (a lapsed hold never
    blocks, even before its timer has released it). Admins' overrides take time too."""
    now = now or timezone.now()
    return Q(released_at__isnull=True) & (Q(kind=ReservationKind.BOOKING) | Q(expires_at__gt=now))


def live_reservations(start: datetime, end: datetime, *, now: datetime | None = None) -> QuerySet[Reservation]:
    """Live reservations whose busy time (scan plus turnaround) overlaps start..end, earliest first.
    Narrow it by scanner (`scanner_id__in=...`) to read the (scanner, start) index."""
    return Reservation.objects.filter(
        live(now), start__gte=start - MAX_RESERVATION, start__lt=end, busy_until__gt=start
    ).order_by("start", "id")


@dataclass(frozen=True)
class Utilisation:
    """A scanner's week: the minutes of its open time, and how many of them booked scans take
    (scan plus turnaround: a fully booked session is 100 %). Holds do not count."""

    scanner: Scanner
    week_start: date
    session_minutes: int
    booked_minutes: int

    @property
    def ratio(self) -> float | None:
        return self.booked_minutes / self.session_minutes if self.session_minutes else None

    @property
    def percent(self) -> int | None:
        return None if self.ratio is None else round(self.ratio * 100)


def _overlap_minutes(spans: list[Span], windows: list[Window]) -> int:
    seconds = 0.0
    for start, end in spans:
        for w in windows:
            if w.start < end and start < w.end:
                seconds += (min(end, w.end) - max(start, w.start)).total_seconds()
    return int(seconds // 60)


def utilisation_by_scanner(week_start: date, scanners: Iterable[Scanner] | None = None) -> list[Utilisation]:
    """Utilisation of each scanner (default: every active one) in the week from `week_start`."""
    if scanners is None:
        scanners = Scanner.objects.filter(active=True).select_related("site")
    scanners = list(scanners)
    last = week_start + timedelta(days=6)
    windows = scanner_windows(scanners, week_start, last)
    start, end = _bounds(week_start, last)
    booked = defaultdict(list)
    rows = live_reservations(start, end).filter(scanner__in=[s.pk for s in scanners], kind=ReservationKind.BOOKING)
    for scanner_id, r_start, r_busy in rows.values_list("scanner_id", "start", "busy_until"):
        booked[scanner_id].append((r_start, r_busy))
    return [
        Utilisation(
            scanner=s,
            week_start=week_start,
            session_minutes=sum(w.minutes for w in windows[s.pk]),
            booked_minutes=_overlap_minutes(booked[s.pk], windows[s.pk]),
        )
        for s in scanners
    ]


def utilisation(scanner: Scanner, week_start: date) -> Utilisation:
    return utilisation_by_scanner(week_start, [scanner])[0]
