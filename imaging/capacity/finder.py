"""Free slots for an MRI request (FHIR `$find`; docs/capacity.md, "What a slot must satisfy").

Free slots are not rows: each search reads the weekly templates once (sessions, anaesthesia lists,
closures; imaging/capacity/calendar.py), expands them into open time a range at a time and subtracts
the range's live reservations, read in one query for the scanners that can take the child, their
lists and the child (the (scanner, start), (anaesthesia_list, start) and (patient, start) indexes),
then walks each scanner's open time on the slot grid in Python, jumping past whatever is in the way.
The range is a week, then two, four…, until enough slots are found: the earliest slots are usually
in the first week. A search that reads n ranges makes at most 5 + n queries (slot rules, scanners,
the three templates; docs/capacity.md, "How the finder reads").
"""

import heapq
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import islice

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from carepath.models import WorkItemKind
from carepath.pathway import sla
from carepath.pathway.errors import Unprocessable

from ..choices import Sedation
from ..rules import BOOKING_HORIZON, mass_suspected, sedation_default
from . import calendar
from .models import Scanner, SlotRule

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
COUNT_CAP = 10  # the waiting list says "10+" beyond this
FIRST_CHUNK = timedelta(days=7)


@dataclass(frozen=True)
class SlotLength:
    minutes: int
    turnaround_minutes: int

    @property
    def scan(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def busy(self) -> timedelta:
        return timedelta(minutes=self.minutes + self.turnaround_minutes)


@dataclass(frozen=True)
class Slot:
    """A free time for one request's scan (a FHIR Slot with status free)."""

    scanner_id: int
    scanner_name: str
    site_id: int
    site_name: str
    start: datetime
    end: datetime  # the scan's end
    busy_until: datetime  # the end plus turnaround: the scanner's next slot starts after it
    sedation: str
    anaesthesia_list_id: int | None
    anaesthesia_list_name: str | None
    breaches_due: bool  # ends after the request's scan due time


def _rules() -> dict[tuple[str, str], SlotRule]:
    return {(rule.protocol, rule.sedation): rule for rule in SlotRule.objects.all()}


def slot_length(mri, sedation: str, *, rules: dict | None = None) -> SlotLength:
    """Minutes of the most specific slot rule (the request's protocol and this sedation plan, else
    the plan's rule for any protocol), never shorter than the protocoled scan duration; and the
    rule's turnaround. No rule for the plan: 422, an administrator adds one."""
    rules = _rules() if rules is None else rules
    rule = rules.get((mri.protocol, sedation)) if mri.protocol else None
    rule = rule or rules.get(("", sedation))
    if rule is None:
        label = Sedation(sedation).label if sedation in Sedation.values else sedation
        raise Unprocessable({"sedation": f"No slot length is set for {label}: an administrator adds a slot rule."})
    return SlotLength(max(rule.minutes, mri.duration_minutes or 0), rule.turnaround_minutes)


def scan_due_at(mri) -> datetime | None:
    """When the scan is due: the `perform_mri` service level counted from the request (the deadline
    the "Perform the MRI" step carries)."""
    return sla.due_for(WorkItemKind.PERFORM_MRI, mri.priority, mri.requested_at)


class _Plan:
    """What one request needs on a given day: the sedation plan (given, or the child's default that
    day) and the slot length for it."""

    def __init__(self, mri, sedation: str | None, rules: dict):
        self.mri, self.sedation, self.rules = mri, sedation, rules
        self.zone = timezone.get_current_timezone()  # the scan day as the sedation guard counts it
        self._sedation_by_day: dict[date, str] = {}
        self._by_day: dict[date, tuple[str, SlotLength]] = {}

    @cached_property
    def mass_suspected(self) -> bool:
        return mass_suspected(self.mri)

    @cached_property
    def due(self) -> datetime | None:
        return scan_due_at(self.mri)

    def sedation_on(self, day: date) -> str:
        if day not in self._sedation_by_day:
            self._sedation_by_day[day] = self.sedation or sedation_default(
                birth_date=self.mri.referral.patient.birth_date, on=day, mass_suspected=self.mass_suspected
            )
        return self._sedation_by_day[day]

    def sedations(self, first: date, last: date) -> set[str]:
        """The sedation plans of the days first..last (a child's default changes on a birthday)."""
        if self.sedation:
            return {self.sedation}
        return {self.sedation_on(day) for day in calendar.days(first, last)}

    def on(self, moment: datetime) -> tuple[str, SlotLength]:
        day = moment.astimezone(self.zone).date()  # as `timezone.localdate`, without its look-ups per grid point
        if day not in self._by_day:
            sedation = self.sedation_on(day)
            self._by_day[day] = (sedation, slot_length(self.mri, sedation, rules=self.rules))
        return self._by_day[day]


class _Busy:
    """Sorted busy intervals of one scanner, list or child, with a quick 'what is in the way'."""

    def __init__(self, intervals: Iterable[tuple[datetime, datetime]]):
        self.intervals = sorted(intervals)
        self.starts = [start for start, _ in self.intervals]

    def blocked_until(self, start: datetime, end: datetime) -> datetime | None:
        """The latest end of the intervals overlapping start..end, or None when nothing is in the way."""
        latest = None
        j = bisect_left(self.starts, end) - 1
        while j >= 0 and self.starts[j] > start - calendar.MAX_RESERVATION:
            if self.intervals[j][1] > start:
                latest = max(latest or start, self.intervals[j][1])
            j -= 1
        return latest


class _Search:
    """What one search reads once for its whole span: the open time's templates (sessions, lists,
    closures: three queries, `calendar.read_templates`). Each range of the span then costs at most
    one query, its live reservations (`_Range`)."""

    def __init__(self, plan: _Plan, scanners: list[Scanner], start: datetime, end: datetime, now: datetime):
        self.plan, self.scanners, self.now = plan, scanners, now
        self.patient_id = plan.mri.referral.patient_id
        ga_sites = {s.site_id: s.site for s in scanners if s.takes_general_anaesthesia}
        self.templates = calendar.read_templates(scanners, ga_sites.values(), *_days(start, end))

    def reservations(self, start: datetime, end: datetime, scanners: list[Scanner], list_ids: set[int]) -> QuerySet:
        """(scanner, list, child, start, end, busy until) of the live reservations around start..end
        that take the time of one of `scanners`, of one of the lists, or of this child."""
        wanted = Q(scanner__in=[s.pk for s in scanners]) | Q(patient_id=self.patient_id)
        if list_ids:
            wanted |= Q(anaesthesia_list__in=list_ids)
        rows = calendar.live_reservations(start, end + calendar.MAX_RESERVATION, now=self.now).filter(wanted)
        # a request's own hold or booking never blocks it: the booking converts the hold, a
        # reschedule releases the old booking in the same transaction
        rows = rows.exclude(mri_request_id=self.plan.mri.pk)
        columns = ("scanner_id", "anaesthesia_list_id", "patient_id", "start", "end", "busy_until")
        return rows.order_by().values_list(*columns)


def _days(start: datetime, end: datetime) -> tuple[date, date]:
    """The days a range's open time is expanded for: a day either side (sites in other time zones)."""
    return timezone.localdate(start) - timedelta(days=1), timezone.localdate(end) + timedelta(days=1)


class _Range:
    """Open time and live reservations for one range, of the search's scanners that can take the
    child under a sedation plan of one of its days (the others have no slot to offer): one query."""

    def __init__(self, search: _Search, start: datetime, end: datetime):
        self.start, self.end = start, end
        sedations = search.plan.sedations(timezone.localdate(start), timezone.localdate(end))
        self.scanners = [s for s in search.scanners if any(s.takes(sedation) for sedation in sedations)]
        first, last = _days(start, end)
        self.windows = calendar.scanner_windows(self.scanners, first, last, templates=search.templates)
        ga_sites = {s.site_id: s.site for s in self.scanners if s.takes_general_anaesthesia}
        if Sedation.GENERAL_ANAESTHESIA not in sedations:
            ga_sites = {}
        self.lists = calendar.anaesthesia_windows(ga_sites.values(), first, last, templates=search.templates)
        self._read_books(search, {w.owner_id for windows in self.lists.values() for w in windows})

    def _read_books(self, search: _Search, list_ids: set[int]) -> None:
        """What is in the way, from the range's one read: on each scanner, on each list, of the child."""
        by_scanner, by_list, child = defaultdict(list), defaultdict(list), []
        rows = search.reservations(self.start, self.end, self.scanners, list_ids) if self.scanners else ()
        for scanner_id, list_id, patient_id, r_start, r_end, r_busy in rows:
            by_scanner[scanner_id].append((r_start, r_busy))
            if list_id is not None:
                by_list[list_id].append((r_start, r_busy))
            if patient_id == search.patient_id:
                child.append((r_start, r_end))
        self.scanner_busy = {s.pk: _Busy(by_scanner[s.pk]) for s in self.scanners}
        self.list_busy = {list_id: _Busy(by_list[list_id]) for list_id in list_ids}
        self.child_busy = _Busy(child)


def _grid() -> timedelta:
    return timedelta(minutes=settings.CAREPATH_SLOT_GRID_MINUTES)


def _on_grid(moment: datetime, origin: datetime, grid: timedelta) -> datetime:
    """The first grid point (origin + n × grid) at or after `moment`."""
    if moment <= origin:
        return origin
    steps = -((origin - moment) // grid)  # ceiling
    return origin + steps * grid


def _free_list(rng: _Range, site_id: int, start: datetime, busy_until: datetime) -> calendar.Window | None:
    for window in rng.lists.get(site_id, ()):
        if window.start <= start and busy_until <= window.end:
            if rng.list_busy[window.owner_id].blocked_until(start, busy_until) is None:
                return window
    return None


def _scanner_slots(plan: _Plan, rng: _Range, child: _Busy, scanner: Scanner, start: datetime) -> Iterator[Slot]:
    """One scanner's free slots from `start` to the range's end, earliest first."""
    grid, busy, seen = _grid(), rng.scanner_busy[scanner.pk], set()
    for window in rng.windows[scanner.pk]:
        origin = window.session_start or window.start
        t = _on_grid(max(window.start, start), origin, grid)
        while t < rng.end:
            sedation, length = plan.on(t)
            end, busy_until = t + length.scan, t + length.busy
            if busy_until > window.end or not scanner.takes(sedation):
                break
            in_the_way = busy.blocked_until(t, busy_until) or child.blocked_until(t, end)
            ga = None
            if in_the_way is None and sedation == Sedation.GENERAL_ANAESTHESIA:
                ga = _free_list(rng, scanner.site_id, t, busy_until)
                in_the_way = None if ga else t + grid
            if in_the_way is not None:
                t = _on_grid(in_the_way, origin, grid)
                continue
            if t not in seen:  # two overlapping sessions offer the same times
                seen.add(t)
                yield Slot(
                    scanner_id=scanner.pk,
                    scanner_name=scanner.name,
                    site_id=scanner.site_id,
                    site_name=scanner.site.name,
                    start=t,
                    end=end,
                    busy_until=busy_until,
                    sedation=sedation,
                    anaesthesia_list_id=ga.owner_id if ga else None,
                    anaesthesia_list_name=ga.name if ga else None,
                    breaches_due=plan.due is not None and end > plan.due,
                )
            t += grid


def _scanners(scanner: Scanner | int | None) -> list[Scanner]:
    scanners = Scanner.objects.filter(active=True).select_related("site").order_by("site__name", "name", "id")
    if scanner is not None:
        scanners = scanners.filter(pk=scanner.pk if isinstance(scanner, Scanner) else scanner)
    return list(scanners)


def _merged(plan: _Plan, rng: _Range, start: datetime) -> Iterator[Slot]:
    child = rng.child_busy
    order = {s.pk: n for n, s in enumerate(rng.scanners)}
    streams = [_scanner_slots(plan, rng, child, s, start) for s in rng.scanners]
    return heapq.merge(*streams, key=lambda slot: (slot.start, order[slot.scanner_id]))


def _chunks(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    span = FIRST_CHUNK
    while start < end:
        yield start, min(start + span, end)
        start, span = start + span, span * 2


def _bounds(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """In the future and within the booking horizon (imaging/rules.py)."""
    start = max(start or now, now)
    end = min(end or now + BOOKING_HORIZON, now + BOOKING_HORIZON)
    return start, end


def find_slots(
    mri,
    *,
    sedation: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    scanner: Scanner | int | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """The earliest free slots for `mri` (with `referral__patient` loaded) that start between `start`
    (default now) and `end` (default the booking horizon), earliest first, at most `limit`. Without
    `sedation`, each day's slots are for the child's default sedation that day."""
    now = now or timezone.now()
    start, end = _bounds(start, end, now)
    plan, scanners, found = _Plan(mri, sedation, _rules()), _scanners(scanner), []
    if not scanners or start >= end:
        return []
    search = _Search(plan, scanners, start, end, now)
    for chunk_start, chunk_end in _chunks(start, end):
        rng = _Range(search, chunk_start, chunk_end)
        found += islice(_merged(plan, rng, chunk_start), limit - len(found))
        if len(found) >= limit:
            break
    return found


def count_slots_before(mri, due: datetime | None = None, *, cap: int = COUNT_CAP, now: datetime | None = None) -> int:
    """How many bookings like this request's could still be made before `due` (default its scan due
    time), up to `cap`: free slots that end by then, counted without overlaps (a scanner, and an
    anaesthesia list, takes one child at a time). For the waiting list; 0 when the due time has passed."""
    now = now or timezone.now()
    due = due or scan_due_at(mri)
    if due is None or due <= now:
        return 0
    plan, scanners = _Plan(mri, None, _rules()), _scanners(None)
    start, end = _bounds(now, due, now)
    if not scanners or start >= end:
        return 0
    count, scanner_free, list_free, search = 0, {}, {}, _Search(plan, scanners, start, end, now)
    for chunk_start, chunk_end in _chunks(start, end):
        rng = _Range(search, chunk_start, chunk_end)
        for slot in _merged(plan, rng, chunk_start):
            if slot.end > due:
                continue
            if slot.start < scanner_free.get(slot.scanner_id, slot.start):
                continue
            if slot.anaesthesia_list_id and slot.start < list_free.get(slot.anaesthesia_list_id, slot.start):
                continue
            scanner_free[slot.scanner_id] = slot.busy_until
            if slot.anaesthesia_list_id:
                list_free[slot.anaesthesia_list_id] = slot.busy_until
            count += 1
            if count >= cap:
                return count
    return count
