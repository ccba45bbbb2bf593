"""The MRI capacity the booking scenario runs on (bench/booking.py; docs/benchmarks.md, run 12), bulk-inserted
on top of a `bench.seed` database: two sites, five scanners, anaesthesia lists, and N reservations on
the books: years of past scans (appointments attended), the coming two weeks nearly full and the
weeks after thinning out, about one in twenty cancelled (released), a few holds live, lapsed or
released. Slots follow the slot rules (scan plus turnaround), back to back in each session; general
anaesthesia only on one GA scanner per site inside its anaesthesia lists (so no list is
double-booked), nurse-led sedation on the scanners that take it, awake children everywhere else.

The reservations reuse the seeded MRI requests that are not waiting to be booked (a request has at
most one future booking; past ones cycle through the same requests, far apart in time, so no child
is in two places at once). The requests waiting to be booked are left alone: the scenario books them."""

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bench.seed import _bulk
from imaging.capacity import calendar
from imaging.capacity.models import AnaesthesiaList, Reservation, Scanner, ScannerSession, Site, SlotRule
from imaging.choices import AppointmentStatus, Sedation
from imaging.models import Appointment, MRIRequest

WEEKDAYS = range(5)
# site: scanners as (name, field strength, takes sedation, takes GA, sessions from, to); the first GA
# scanner of a site gets the GA bookings. Site A's two GA scanners share its lists: the scenario's
# list race books both at once.
SITES = {
    "Bench Children's Hospital": [
        ("MRI A1 (3 T)", "3T", True, True, clock(8), clock(18)),
        ("MRI A2 (1.5 T)", "1.5T", True, True, clock(8), clock(18)),
        ("MRI A3 (1.5 T)", "1.5T", False, False, clock(8), clock(18)),
    ],
    "Bench District Hospital": [
        ("MRI B1 (3 T)", "3T", True, True, clock(8), clock(17)),
        ("MRI B2 (1.5 T)", "1.5T", False, False, clock(9), clock(17)),
    ],
}
LISTS = {  # site: (weekday, start, end)
    "Bench Children's Hospital": [
        (1, clock(8), clock(12, 30)),
        (3, clock(8), clock(12, 30)),
        (0, clock(13), clock(17)),
    ],
    "Bench District Hospital": [(2, clock(8), clock(12, 30))],
}
HISTORY_YEARS = 12  # sessions valid from this long ago: the past scans (about 11,000 a year) lie inside them


def occupancy(days_ahead: int) -> float:
    """The share of slots booked on a day: past days 85 %, the next two weeks 95 %, then thinning to
    10 % at eight weeks, 3 % beyond (the booking horizon is a year)."""
    if days_ahead < 0:
        return 0.85
    if days_ahead <= 14:
        return 0.95
    if days_ahead <= 56:
        return 0.95 - 0.85 * (days_ahead - 14) / 42
    return 0.03


@dataclass
class Taken:
    scanner: Scanner
    list_id: int | None
    sedation: str
    start: datetime
    end: datetime
    busy_until: datetime


def capacity(today: date) -> list[Scanner]:
    """The sites, scanners, sessions and lists (once; found by name after)."""
    since = today - timedelta(days=366 * HISTORY_YEARS)
    for site_name, scanners in SITES.items():
        site, created = Site.objects.get_or_create(name=site_name)
        if not created:
            continue
        for name, strength, sedation, ga, start, end in scanners:
            scanner = Scanner.objects.create(
                site=site,
                name=name,
                field_strength=strength,
                takes_sedation=sedation,
                takes_general_anaesthesia=ga,
            )
            ScannerSession.objects.bulk_create(
                ScannerSession(scanner=scanner, weekday=d, start_time=start, end_time=end, valid_from=since)
                for d in WEEKDAYS
            )
        for weekday, start, end in LISTS[site_name]:
            AnaesthesiaList.objects.create(
                site=site, name=f"GA list {weekday}", weekday=weekday, start_time=start, end_time=end, valid_from=since
            )
    return list(Scanner.objects.filter(site__name__in=SITES).select_related("site").order_by("site__name", "name"))


def day_slots(rng, scanner: Scanner, ga_scanner: bool, windows, lists, lengths, now: datetime) -> Iterator[Taken]:
    """One scanner's booked slots on one day: back to back, each taken with the day's occupancy."""
    zone = calendar.zone(scanner.site.time_zone)
    days_ahead = (windows[0].start.astimezone(zone).date() - now.astimezone(zone).date()).days
    for window in windows:
        t = window.start
        while True:
            in_list = next((w for w in lists if w.start <= t < w.end), None) if ga_scanner else None
            if in_list is not None:
                sedation = Sedation.GENERAL_ANAESTHESIA
            elif scanner.takes_sedation and rng.random() < 0.25:
                sedation = Sedation.NURSE_SEDATION
            else:
                sedation = rng.choice([Sedation.NONE] * 6 + [Sedation.CHILD_LIFE_AWAKE, Sedation.FEED_AND_WRAP])
            minutes, turnaround = lengths[sedation]
            end, busy_until = t + timedelta(minutes=minutes), t + timedelta(minutes=minutes + turnaround)
            limit = in_list.end if in_list is not None else window.end
            if busy_until > limit:
                if in_list is None or busy_until > window.end:
                    break
                t = in_list.end  # the list's last GA slot does not fit: the rest of the session is not GA
                continue
            if t > now or days_ahead < 0:
                if rng.random() < occupancy(days_ahead):
                    yield Taken(scanner, in_list.owner_id if in_list else None, sedation, t, end, busy_until)
            t = busy_until


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def plan(scanners: list[Scanner], n: int, rng, now: datetime) -> list[Taken]:
    """n slots: the next 17 weeks first, then back in time day by day until there are n."""
    lengths = {rule.sedation: (rule.minutes, rule.turnaround_minutes) for rule in SlotRule.objects.filter(protocol="")}
    ga_scanners = {}  # site: its first GA scanner, the one that gets the GA bookings
    for scanner in scanners:
        if scanner.takes_general_anaesthesia:
            ga_scanners.setdefault(scanner.site_id, scanner.pk)
    sites = {s.site_id: s.site for s in scanners}
    today, taken = timezone.localdate(now), []

    def fill(first: date, last: date) -> list[Taken]:
        windows = calendar.scanner_windows(scanners, first, last)
        lists = calendar.anaesthesia_windows(sites.values(), first, last)
        out = []
        for scanner in scanners:
            zone = calendar.zone(scanner.site.time_zone)
            by_day: dict[date, list] = {}
            for w in windows[scanner.pk]:
                by_day.setdefault(w.start.astimezone(zone).date(), []).append(w)
            lists_by_day: dict[date, list] = {}
            for w in lists[scanner.site_id]:
                lists_by_day.setdefault(w.start.astimezone(zone).date(), []).append(w)
            ga = ga_scanners.get(scanner.site_id) == scanner.pk
            for day in sorted(by_day):
                out += day_slots(rng, scanner, ga, by_day[day], lists_by_day.get(day, []), lengths, now)
        return out

    taken += fill(today, today + timedelta(weeks=17))
    last = today - timedelta(days=1)
    while len(taken) < n:
        first = last - timedelta(days=27)
        taken += fill(first, last)
        last = first - timedelta(days=1)
    future = [t for t in taken if t.start > now]
    past = sorted((t for t in taken if t.start <= now), key=lambda t: t.start, reverse=True)
    return future + past[: max(0, n - len(future))]


def seed(n: int, seed_value: int = 11) -> dict:
    """n reservations on the books (and their appointments), unless the bench's sites exist already."""
    if Site.objects.filter(name__in=SITES).exists():
        return {"reservations": Reservation.objects.count(), "seconds": 0, "kept": True}
    rng, now, started = random.Random(seed_value), timezone.now(), time.monotonic()
    coordinator = get_user_model().objects.filter(username__startswith="bench_imaging_coordinator_").first()
    with transaction.atomic():
        scanners = capacity(timezone.localdate(now))
        slots = plan(scanners, n, rng, now)
        pool = list(
            MRIRequest.objects.filter(state__in=["scheduled", "reported", "performed"])
            .order_by("-state", "id")  # the scheduled ones first: they get the future bookings
            .values_list("id", "referral__patient_id")
        )
        rows = [_row(rng, slot, pool, i, now, coordinator) for i, slot in enumerate(slots)]
        appointments = _bulk(Appointment, [a for a, _ in rows if a], "appointments", time.monotonic(), len(rows), [0])
        by_slot = iter(appointments)
        reservations = []
        for appointment, reservation in rows:
            reservation.appointment = next(by_slot) if appointment else None
            reservations.append(reservation)
        _bulk(Reservation, reservations, "reservations", time.monotonic(), len(reservations), [0])
    future = sum(1 for s in slots if s.start > now)
    return {"reservations": len(slots), "future": future, "seconds": round(time.monotonic() - started, 1)}


def _row(rng, slot: Taken, pool: list, i: int, now: datetime, coordinator):
    """(appointment or None, reservation) for one slot. Future slots take distinct requests (one booked
    appointment per request) while they last; past ones cycle through the pool."""
    mri_id, patient_id = pool[i % len(pool)]
    base = dict(
        scanner=slot.scanner,
        anaesthesia_list_id=slot.list_id,
        mri_request_id=mri_id,
        patient_id=patient_id,
        sedation=slot.sedation,
        start=slot.start,
        end=slot.end,
        busy_until=slot.busy_until,
        created_by=coordinator,
        created_at=min(now, slot.start - timedelta(days=rng.uniform(1, 40))),
    )
    draw, future = rng.random(), slot.start > now
    if draw < 0.03:  # a hold: live if the slot is ahead, else lapsed and released by its timer
        expires = now + timedelta(minutes=10) if future else slot.start - timedelta(days=1)
        released = None if future else expires
        return None, Reservation(kind="hold", expires_at=expires, released_at=released, **base)
    future_booking = future and i < len(pool)
    status = AppointmentStatus.BOOKED if future_booking else AppointmentStatus.ATTENDED
    released = None
    if draw < 0.08 or (future and not future_booking):  # cancelled (or no request left to book it)
        status, released = AppointmentStatus.CANCELLED, base["created_at"] + timedelta(days=1)
    appointment = Appointment(
        mri_request_id=mri_id,
        start=slot.start,
        end=slot.end,
        location=str(slot.scanner),
        sedation=slot.sedation,
        sedation_default=slot.sedation,
        status=status,
        booked_by=coordinator,
        booked_at=base["created_at"],
    )
    return appointment, Reservation(
        kind="booking", released_at=released, release_reason="cancelled" if released else "", **base
    )
