"""The weekly templates expanded into open time: local wall-clock times across DST, valid from/until,
closures of a scanner, a list or a whole site, holidays; live reservations; utilisation."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from carepath.models import Holiday
from imaging.capacity import calendar
from imaging.capacity.models import Closure

from . import places

MON, TUE, SUN = 0, 1, 6
pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def spans(windows) -> list[tuple[datetime, datetime]]:
    return [(w.start, w.end) for w in windows]


def test_a_monday_session_is_open_every_monday_at_local_time_across_the_spring_clock_change():
    mr1 = places.scanner()
    places.session(mr1, MON, "08:00", "12:00")

    windows = calendar.scanner_windows([mr1], date(2026, 3, 23), date(2026, 3, 30))[mr1.pk]

    # London: GMT until Sunday 29 March 2026, then BST (UTC+1)
    assert spans(windows) == [(utc(2026, 3, 23, 8), utc(2026, 3, 23, 12)), (utc(2026, 3, 30, 7), utc(2026, 3, 30, 11))]
    assert [w.minutes for w in windows] == [240, 240]


def test_a_session_over_the_clock_change_lasts_the_hours_that_really_pass():
    mr1 = places.scanner()
    places.session(mr1, SUN, "00:30", "03:00")  # 29 March 2026: 01:00 GMT → 02:00 BST
    places.session(mr1, SUN, "00:30", "03:00", since=date(2026, 10, 25))  # 25 October: 02:00 BST → 01:00 GMT

    spring = calendar.scanner_windows([mr1], date(2026, 3, 29), date(2026, 3, 29))[mr1.pk]
    autumn = calendar.scanner_windows([mr1], date(2026, 10, 25), date(2026, 10, 25))[mr1.pk]

    assert spans(spring) == [(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2))]
    assert [w.minutes for w in spring] == [90]
    assert [w.minutes for w in autumn] == [210, 210]  # two templates, both apply from 25 October


def test_sessions_follow_the_sites_own_time_zone():
    auckland = places.site("Starship", time_zone="Pacific/Auckland")
    mr = places.scanner("MR-A", at=auckland)
    places.session(mr, MON, "09:00", "10:00")

    windows = calendar.scanner_windows([mr], date(2026, 12, 7), date(2026, 12, 7))[mr.pk]

    assert spans(windows) == [(utc(2026, 12, 6, 20), utc(2026, 12, 6, 21))]  # NZDT is UTC+13


def test_a_session_applies_only_between_its_valid_from_and_valid_until():
    mr1 = places.scanner()
    places.session(mr1, MON, "08:00", "09:00", since=date(2026, 12, 14), until=date(2026, 12, 21))

    windows = calendar.scanner_windows([mr1], date(2026, 12, 7), date(2026, 12, 28))[mr1.pk]

    assert [w.start.date() for w in windows] == [date(2026, 12, 14), date(2026, 12, 21)]


def test_closures_cut_the_scanner_the_site_but_not_other_scanners_or_for_a_list():
    site = places.site()
    mr1, mr2 = places.scanner("MR1", at=site), places.scanner("MR2", at=site)
    for mr in (mr1, mr2):
        places.session(mr, MON, "08:00", "12:00")
    ga = places.anaesthesia_list(site, MON, "08:00", "12:00")
    Closure.objects.create(site=site, scanner=mr1, start=utc(2026, 12, 7, 9), end=utc(2026, 12, 7, 10), reason="QA")
    Closure.objects.create(
        site=site, anaesthesia_list=ga, start=utc(2026, 12, 7, 8), end=utc(2026, 12, 7, 12), reason="x"
    )
    Closure.objects.create(site=site, start=utc(2026, 12, 14, 11), end=utc(2026, 12, 14, 13), reason="Fire drill")

    windows = calendar.scanner_windows([mr1, mr2], date(2026, 12, 7), date(2026, 12, 14))

    assert spans(windows[mr1.pk]) == [
        (utc(2026, 12, 7, 8), utc(2026, 12, 7, 9)),
        (utc(2026, 12, 7, 10), utc(2026, 12, 7, 12)),
        (utc(2026, 12, 14, 8), utc(2026, 12, 14, 11)),
    ]
    assert spans(windows[mr2.pk]) == [
        (utc(2026, 12, 7, 8), utc(2026, 12, 7, 12)),
        (utc(2026, 12, 14, 8), utc(2026, 12, 14, 11)),
    ]


def test_a_closure_at_another_site_changes_nothing():
    mr1 = places.scanner()
    places.session(mr1, MON, "08:00", "12:00")
    other = places.site("Other hospital")
    Closure.objects.create(site=other, start=utc(2026, 12, 7, 0), end=utc(2026, 12, 8, 0), reason="Strike")

    assert len(calendar.scanner_windows([mr1], date(2026, 12, 7), date(2026, 12, 7))[mr1.pk]) == 1


def test_no_sessions_on_a_holiday_unless_the_scanner_runs_on_holidays():
    site = places.site()
    closed, open_ = places.scanner("MR1", at=site), places.scanner("MR2", at=site, open_on_holidays=True)
    for mr in (closed, open_):
        places.session(mr, MON, "08:00", "12:00")
    Holiday.objects.get_or_create(date=date(2026, 12, 28), defaults={"name": "Boxing Day (substitute)"})

    windows = calendar.scanner_windows([closed, open_], date(2026, 12, 21), date(2026, 12, 28))

    assert [w.start.date() for w in windows[closed.pk]] == [date(2026, 12, 21)]
    assert [w.start.date() for w in windows[open_.pk]] == [date(2026, 12, 21), date(2026, 12, 28)]


def test_anaesthesia_lists_lose_their_closures_site_closures_and_holidays_but_not_a_scanners():
    site = places.site()
    mr1 = places.scanner(at=site, ga=True)
    ga = places.anaesthesia_list(site, TUE, "08:00", "13:00", name="Tuesday GA")
    places.anaesthesia_list(site, TUE, "14:00", "17:00", name="Retired list", active=False)
    Closure.objects.create(
        site=site, anaesthesia_list=ga, start=utc(2026, 12, 8, 8), end=utc(2026, 12, 8, 9), reason="x"
    )
    Closure.objects.create(site=site, scanner=mr1, start=utc(2026, 12, 8, 12), end=utc(2026, 12, 8, 13), reason="QA")
    Closure.objects.create(site=site, start=utc(2026, 12, 15, 12), end=utc(2026, 12, 15, 18), reason="Power work")
    Holiday.objects.get_or_create(date=date(2026, 12, 22), defaults={"name": "Staff day"})
    places.anaesthesia_list(places.site("Elsewhere"), TUE, "08:00", "13:00")

    windows = calendar.anaesthesia_windows([site], date(2026, 12, 7), date(2026, 12, 22))[site.pk]

    assert spans(windows) == [
        (utc(2026, 12, 8, 9), utc(2026, 12, 8, 13)),
        (utc(2026, 12, 15, 8), utc(2026, 12, 15, 12)),
    ]
    assert {(w.owner_id, w.name) for w in windows} == {(ga.pk, "Tuesday GA")}


@pytest.fixture
def mri(pathway):
    return pathway.mri(pathway.protocoled())


def test_live_reservations_are_bookings_and_unexpired_holds_that_overlap_the_range(mri):
    mr1 = places.scanner()
    soon = timezone.now() + timedelta(days=3)
    booked = places.reserve(mri, mr1, soon, minutes=60, turnaround=30)
    held = places.reserve(mri, mr1, soon + timedelta(hours=2), kind="hold")
    places.reserve(mri, mr1, soon + timedelta(hours=4), kind="hold", expires_at=timezone.now() - timedelta(seconds=1))
    places.reserve(mri, mr1, soon + timedelta(hours=6), kind="hold", released_at=timezone.now())

    # the range starts in the booking's turnaround: the scanner is still busy then
    found = calendar.live_reservations(soon + timedelta(minutes=75), soon + timedelta(hours=8))

    assert list(found) == [booked, held]


def test_utilisation_is_booked_time_with_turnaround_over_open_time_of_the_week(mri):
    mr1 = places.scanner()
    places.session(mr1, MON, "08:00", "12:00")
    places.session(mr1, TUE, "08:00", "12:00")
    Closure.objects.create(site=mr1.site, scanner=mr1, start=utc(2026, 12, 8, 8), end=utc(2026, 12, 8, 10), reason="QA")
    places.reserve(mri, mr1, utc(2026, 12, 7, 8), minutes=60, turnaround=30)
    places.reserve(mri, mr1, utc(2026, 12, 7, 10), minutes=30, kind="hold")  # a hold is not a booking
    places.reserve(mri, mr1, utc(2026, 12, 8, 10), minutes=60, released_at=timezone.now(), release_reason="x")
    places.reserve(mri, mr1, utc(2026, 12, 14, 8), minutes=60)  # next week

    week = calendar.utilisation(mr1, date(2026, 12, 7))

    assert (week.session_minutes, week.booked_minutes, week.percent) == (360, 90, 25)


def test_a_scanner_without_sessions_has_no_utilisation_figure():
    mr1 = places.scanner()

    week = calendar.utilisation(mr1, date(2026, 12, 7))

    assert (week.session_minutes, week.ratio, week.percent) == (0, None, None)
