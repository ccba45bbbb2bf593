"""Finding slots for an MRI request: every rule of docs/capacity.md "What a slot must satisfy", one by one."""

from datetime import date, datetime, time, timedelta

import pytest

from carepath.models import Holiday
from carepath.pathway.errors import Unprocessable
from imaging.capacity import finder
from imaging.capacity.calendar import at, zone
from imaging.capacity.models import Closure, SlotRule
from tests.factories import make_patient

from . import places

LONDON = zone("Europe/London")
GA, NONE = "general_anaesthesia", "none"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_holidays():
    Holiday.objects.all().delete()  # the seeded bank holidays would move these weeks' sessions


def a_monday(weeks_ahead: int = 2) -> date:
    today = date.today()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


MONDAY = a_monday()
TUESDAY = MONDAY + timedelta(days=1)
NOW = at(MONDAY - timedelta(days=1), time(12), LONDON)  # the Sunday before, noon


def local(day: date, hh_mm: str) -> datetime:
    return at(day, time.fromisoformat(hh_mm), LONDON)


def starts(slots) -> list[str]:
    return [f"{s.start.astimezone(LONDON):%a %H:%M}" for s in slots]


@pytest.fixture
def mri(pathway):
    """Protocoled, a 45-minute scan, an 8-year-old (awake by default)."""
    return pathway.mri(pathway.protocoled())


@pytest.fixture
def mr1():
    scanner = places.scanner("MR1", sedation=True, ga=True)
    places.session(scanner, MONDAY.weekday(), "08:00", "10:00")
    return scanner


def find(mri, **kwargs):
    """Slots in the week of MONDAY (the sessions repeat every week)."""
    end = kwargs.pop("end", local(MONDAY + timedelta(days=7), "00:00"))
    return finder.find_slots(mri, now=kwargs.pop("now", NOW), end=end, **kwargs)


# --- slot length -------------------------------------------------------------------------------------------
def test_the_slot_is_the_sedation_rule_but_never_shorter_than_the_protocoled_scan(mri):
    assert finder.slot_length(mri, NONE) == finder.SlotLength(45, 10)  # rule 30 min, protocoled 45
    assert finder.slot_length(mri, GA) == finder.SlotLength(60, 30)  # rule 60 min, longer than the scan


def test_a_rule_for_the_protocol_wins_over_the_rule_for_any_protocol(mri):
    SlotRule.objects.create(protocol=mri.protocol, sedation=NONE, minutes=50, turnaround_minutes=5)
    SlotRule.objects.create(protocol="cpa_t2_tof", sedation=NONE, minutes=90, turnaround_minutes=5)

    assert finder.slot_length(mri, NONE) == finder.SlotLength(50, 5)


def test_no_rule_for_the_sedation_plan_is_refused_with_the_field_named(mri):
    SlotRule.objects.filter(sedation="nurse_sedation").delete()

    with pytest.raises(Unprocessable) as refused:
        finder.slot_length(mri, "nurse_sedation")

    assert "sedation" in refused.value.errors


# --- the grid and the session ------------------------------------------------------------------------------
def test_slots_start_on_the_grid_and_scan_plus_turnaround_fit_in_the_session(mri, mr1):
    slots = find(mri)

    # 45 + 10 minutes in 08:00–10:00: 09:15 would end its turnaround at 10:10
    assert starts(slots) == ["Mon 08:00", "Mon 08:15", "Mon 08:30", "Mon 08:45", "Mon 09:00"]
    first = slots[0]
    assert (first.end - first.start, first.busy_until - first.end) == (timedelta(minutes=45), timedelta(minutes=10))
    assert (first.scanner_id, first.scanner_name, first.site_name, first.sedation) == (
        mr1.pk,
        "MR1",
        mr1.site.name,
        NONE,
    )
    assert first.anaesthesia_list_id is None


def test_the_grid_runs_from_the_sessions_start_and_nothing_is_offered_in_the_past(mri):
    mr1 = places.scanner("MR1")
    places.session(mr1, MONDAY.weekday(), "08:10", "10:30")

    slots = find(mri, now=local(MONDAY, "08:30"))

    assert starts(slots) == ["Mon 08:40", "Mon 08:55", "Mon 09:10", "Mon 09:25"]


def test_a_closure_and_an_inactive_scanner_offer_nothing(mri, mr1):
    Closure.objects.create(
        site=mr1.site, scanner=mr1, start=local(MONDAY, "08:00"), end=local(MONDAY, "09:00"), reason="QA"
    )
    places.session(places.scanner("Old MR", active=False), MONDAY.weekday(), "08:00", "10:00")

    assert starts(find(mri)) == ["Mon 09:00"]


def test_from_to_limit_and_scanner_narrow_the_search(mri, mr1):
    mr2 = places.scanner("MR2")
    places.session(mr2, MONDAY.weekday(), "08:00", "10:00")

    both = find(mri, limit=3)
    only_mr2 = find(mri, scanner=mr2.pk, start=local(MONDAY, "08:20"), end=local(MONDAY, "09:00"))

    assert [(s.scanner_name, f"{s.start.astimezone(LONDON):%H:%M}") for s in both] == [
        ("MR1", "08:00"),
        ("MR2", "08:00"),
        ("MR1", "08:15"),
    ]
    assert starts(only_mr2) == ["Mon 08:30", "Mon 08:45"]  # starts before `to`; ends may run past it


def test_nothing_beyond_the_booking_horizon(mri, mr1):
    assert find(mri, start=NOW + timedelta(days=367)) == []


# --- the scanner's other reservations ----------------------------------------------------------------------
def test_a_booking_blocks_the_scanner_for_its_scan_and_its_turnaround(mri, mr1, pathway):
    other = pathway.mri(pathway.protocoled())
    places.reserve(other, mr1, local(MONDAY, "08:00"), minutes=30, turnaround=30)

    # 08:30 is inside the other child's turnaround; 09:00 + 55 minutes still fits
    assert starts(find(mri)) == ["Mon 09:00"]


def test_a_slots_own_turnaround_may_not_run_into_the_next_booking(mri, mr1, pathway):
    other = pathway.mri(pathway.protocoled())
    places.reserve(other, mr1, local(MONDAY, "09:05"), minutes=30)

    assert starts(find(mri)) == ["Mon 08:00"]  # 08:15 + 55 minutes reaches 09:10


def test_a_live_hold_blocks_an_expired_or_released_one_does_not(mri, mr1, pathway):
    other = pathway.mri(pathway.protocoled())
    places.reserve(other, mr1, local(MONDAY, "08:00"), minutes=30, kind="hold", expires_at=NOW - timedelta(minutes=1))
    places.reserve(other, mr1, local(MONDAY, "08:00"), minutes=30, released_at=NOW, release_reason="cancelled")
    places.reserve(other, mr1, local(MONDAY, "09:00"), minutes=30, kind="hold", expires_at=NOW + timedelta(minutes=5))

    assert starts(find(mri)) == ["Mon 08:00"]


def test_the_requests_own_hold_does_not_block_it(mri, mr1):
    places.reserve(
        mri, mr1, local(MONDAY, "08:00"), minutes=45, turnaround=10, kind="hold", expires_at=NOW + timedelta(minutes=5)
    )

    assert starts(find(mri))[0] == "Mon 08:00"


# --- the child's other bookings ----------------------------------------------------------------------------
def test_the_childs_booking_elsewhere_blocks_the_scan_but_not_the_turnaround(mri, mr1, pathway):
    mr2 = places.scanner("MR2")
    second_case = pathway.mri(pathway.protocoled(patient=mri.referral.patient))
    places.reserve(second_case, mr2, local(MONDAY, "09:00"), minutes=30, turnaround=30)

    # 08:15's scan ends at 09:00 (its turnaround overlaps, which is the room's, not the child's)
    assert starts(find(mri, scanner=mr1)) == ["Mon 08:00", "Mon 08:15"]


# --- sedation: capable scanners and anaesthesia lists ------------------------------------------------------
def test_nurse_sedation_only_on_a_scanner_that_takes_it(mri, mr1):
    plain = places.scanner("Plain MR")
    places.session(plain, MONDAY.weekday(), "08:00", "10:00")

    slots = find(mri, sedation="nurse_sedation")

    assert {s.scanner_name for s in slots} == {"MR1"}
    assert starts(slots) == ["Mon 08:00", "Mon 08:15", "Mon 08:30"]  # 60 + 20 minutes


def test_general_anaesthesia_lies_inside_an_anaesthesia_list_and_names_it(mri):
    site = places.site()
    mr1 = places.scanner("MR1", at=site, ga=True)
    places.session(mr1, MONDAY.weekday(), "08:00", "18:00")
    no_ga = places.scanner("MR2", at=site, sedation=True)
    places.session(no_ga, MONDAY.weekday(), "08:00", "18:00")
    ga_list = places.anaesthesia_list(site, MONDAY.weekday(), "09:00", "12:00", name="Monday GA")

    slots = find(mri, sedation=GA)

    # 60 + 30 minutes inside 09:00–12:00, on the only scanner with an anaesthetic machine
    assert starts(slots) == ["Mon 09:00", "Mon 09:15", "Mon 09:30", "Mon 09:45", "Mon 10:00", "Mon 10:15", "Mon 10:30"]
    assert {(s.scanner_name, s.anaesthesia_list_id, s.anaesthesia_list_name) for s in slots} == {
        ("MR1", ga_list.pk, "Monday GA")
    }


def test_no_anaesthesia_list_no_general_anaesthesia(mri, mr1):
    assert find(mri, sedation=GA) == []


def test_the_anaesthetic_team_takes_one_child_at_a_time_across_scanners(mri, pathway):
    site = places.site()
    mr1, mr2 = places.scanner("MR1", at=site, ga=True), places.scanner("MR2", at=site, ga=True)
    for mr in (mr1, mr2):
        places.session(mr, MONDAY.weekday(), "08:00", "18:00")
    ga_list = places.anaesthesia_list(site, MONDAY.weekday(), "09:00", "12:00")
    other = pathway.mri(pathway.protocoled())
    places.reserve(other, mr2, local(MONDAY, "09:00"), minutes=60, turnaround=30, sedation=GA, anaesthesia_list=ga_list)

    slots = find(mri, sedation=GA, scanner=mr1)

    assert starts(slots) == ["Mon 10:30"]


def test_without_a_sedation_plan_each_day_gets_the_childs_default_for_that_day(pathway):
    # the child turns 7 on the Tuesday: general anaesthesia on Monday, awake from Tuesday
    patient = make_patient(pathway.ped, birth_date=TUESDAY.replace(year=TUESDAY.year - 7))
    mri = pathway.mri(pathway.protocoled(patient=patient))
    site = places.site()
    mr1 = places.scanner("MR1", at=site, ga=True)
    for day in (MONDAY, TUESDAY):
        places.session(mr1, day.weekday(), "09:00", "10:30")
    places.anaesthesia_list(site, MONDAY.weekday(), "09:00", "10:30")

    slots = find(mri)

    assert [(s.start.astimezone(LONDON).strftime("%a %H:%M"), s.sedation) for s in slots] == [
        ("Mon 09:00", GA),
        ("Tue 09:00", NONE),
        ("Tue 09:15", NONE),
        ("Tue 09:30", NONE),
    ]


def test_a_scanner_without_an_anaesthetic_machine_offers_the_days_after_a_ga_child_turns_seven(pathway):
    # one range holds both plans: GA on Monday (MR1 only, inside the list), awake on Tuesday (both)
    patient = make_patient(pathway.ped, birth_date=TUESDAY.replace(year=TUESDAY.year - 7))
    mri = pathway.mri(pathway.protocoled(patient=patient))
    site = places.site()
    mr1, awake_only = places.scanner("MR1", at=site, ga=True), places.scanner("MR3", at=site)
    for scanner, day in [(mr1, MONDAY), (awake_only, MONDAY), (mr1, TUESDAY), (awake_only, TUESDAY)]:
        places.session(scanner, day.weekday(), "09:00", "10:30")
    places.anaesthesia_list(site, MONDAY.weekday(), "09:00", "10:30")

    slots = find(mri, limit=4)

    assert [(f"{s.start.astimezone(LONDON):%a %H:%M}", s.scanner_name, s.sedation) for s in slots] == [
        ("Mon 09:00", "MR1", GA),
        ("Tue 09:00", "MR1", NONE),
        ("Tue 09:00", "MR3", NONE),
        ("Tue 09:15", "MR1", NONE),
    ]


# --- the due date ------------------------------------------------------------------------------------------
def test_a_slot_ending_after_the_scan_due_time_is_marked_as_breaching(mri, mr1):
    mri.priority = "asap"  # due 48 hours after the request
    mri.requested_at = local(MONDAY, "08:50") - timedelta(hours=48)
    mri.save(update_fields=["priority", "requested_at"])

    slots = find(mri)

    assert finder.scan_due_at(mri) == local(MONDAY, "08:50")
    assert [(f"{s.start.astimezone(LONDON):%H:%M}", s.breaches_due) for s in slots] == [
        ("08:00", False),  # ends 08:45
        ("08:15", True),
        ("08:30", True),
        ("08:45", True),
        ("09:00", True),
    ]


# --- counting for the waiting list -------------------------------------------------------------------------
def test_slots_before_the_due_time_are_counted_without_overlaps_up_to_a_cap(mri, mr1, pathway):
    places.session(mr1, TUESDAY.weekday(), "08:00", "10:00")
    other = pathway.mri(pathway.protocoled())
    places.reserve(other, mr1, local(TUESDAY, "08:00"), minutes=60)

    # Monday: 08:00 and 09:00 (55 minutes each, one child at a time); Tuesday: 09:00 only
    assert finder.count_slots_before(mri, local(TUESDAY, "12:00"), now=NOW) == 3
    assert finder.count_slots_before(mri, local(TUESDAY, "12:00"), now=NOW, cap=2) == 2
    assert finder.count_slots_before(mri, local(MONDAY, "09:40"), now=NOW) == 1  # 09:00 ends at 09:45
    assert finder.count_slots_before(mri, NOW - timedelta(hours=1), now=NOW) == 0
