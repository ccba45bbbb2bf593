"""The demo's coming week on the scanners (`seed_demo`; docs/capacity.md, "Demo data"): children booked
through the booking service on both scanners, GA cases in the anaesthesia lists, a baby fed and
wrapped, two slots held for requests still being arranged, and a waiting list of protocoled
requests of which three are already past the date their scan was due.

Each story takes the seed_demo command (its helpers `child`, `to_mri`, `schedule`, `slot`, `weekday`)
and books as the coordinator would: the first free slot from a given day (imaging/capacity/finder.py).
Children 19 to 36 of the demo (the 18th and the 37th are in referrals/demo_together.py)."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from carepath.pathway.priority import Priority
from imaging.capacity import booking, finder
from imaging.capacity.finder import Slot
from imaging.guards import default_sedation
from imaging.models import MRIRequest

# (number, given name, family name, age in years or months, sex, the weekday ahead from which a slot is
# sought, scanner, booking data): scanner "3T" or "1.5T"; None: MRI 2 when it takes the child's
# sedation, else MRI 1 (general anaesthesia, nurse-led sedation)
NURSE_SEDATION = {"sedation": "nurse_sedation", "sedation_override_reason": "Very anxious; the awake scan failed."}
BOOKED = [
    (19, "Amelia", "Carter", {"years": 3}, "female", 1, None, {}),  # GA: the first list of the week
    (20, "Theo", "Bailey", {"years": 2}, "male", 1, None, {}),  # GA: the same list, after Amelia
    (21, "Lily", "Morgan", {"months": 4}, "female", 1, None, {}),  # feed and wrap on MRI 2
    (22, "Arlo", "Fisher", {"years": 9}, "male", 1, None, {}),
    (23, "Jacob", "Hunt", {"years": 10}, "male", 1, "3T", {}),  # awake, on MRI 1
    (24, "Harvey", "Wells", {"years": 16}, "male", 1, None, {}),
    (25, "Poppy", "Kelly", {"years": 12}, "female", 2, None, {}),
    (26, "Oscar", "Day", {"years": 12}, "male", 3, "3T", NURSE_SEDATION),
    (27, "Evie", "Mason", {"years": 5}, "female", 3, None, {}),  # GA: the next open list
    (28, "Freddie", "Shaw", {"years": 14}, "male", 3, None, {}),
    (29, "Rosie", "Palmer", {"years": 8}, "female", 4, "3T", {}),
    (30, "Alfie", "Rose", {"years": 15}, "male", 4, None, {}),
    (31, "Sienna", "Grant", {"years": 11}, "female", 5, None, {}),
    (32, "Daisy", "Ellis", {"years": 9}, "female", 5, "3T", {}),
]
# (number, given name, family name, years, priority, days since the MRI was requested, hold a slot)
WAITING = [
    (33, "Hugo", "Barnes", 8, Priority.URGENT, 18, False),  # urgent: due in 14 days, 4 days late
    (34, "Ivy", "Sutton", 9, Priority.ASAP, 4, True),  # asap: due in 48 hours; a slot is held
    (35, "Reggie", "Lambert", 3, Priority.ROUTINE, 47, False),  # routine: due in 6 weeks, late
    (36, "Mabel", "Dixon", 13, Priority.ROUTINE, 12, True),  # in time; a slot is held
]


def weekday(now: datetime, n: int) -> datetime:
    """08:00 on the n-th weekday after today (n > 0), or, for n <= 0, on the day n days ago or the
    weekday before it."""
    day, step = timezone.localdate(now), 1 if n > 0 else -1
    if n > 0:
        for _ in range(n):
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
    else:
        day += timedelta(days=n)
        while day.weekday() >= 5:
            day += timedelta(days=step)
    return timezone.make_aware(datetime.combine(day, time(8, 0)))


def first_slot(*, scanners: dict, mri, start: datetime, scanner=None, sedation=None) -> Slot:
    """The first free slot from `start` (for `sedation`, default the child's that day): on `scanner`,
    else on MRI 2 ("1.5T") when it takes the sedation, else on MRI 1 ("3T": GA and sedation)."""
    mri = MRIRequest.objects.select_related("referral__patient").get(pk=mri.pk)
    if scanner is None:
        small = scanners["1.5T"]
        plan = sedation or default_sedation(mri, {"scheduled_start": start})
        scanner = small if small.takes(plan) else scanners["3T"]
    return finder.find_slots(mri, sedation=sedation, start=start, limit=1, scanner=scanner)[0]


def booked_this_week(s):
    """Fourteen children booked over the coming weekdays, each when the coordinator found a slot."""
    for n, given, family, age, sex, ahead, scanner, data in BOOKED:
        r = s.child(n, given, family, 30 + n, sex=sex, **age)
        mri = s.to_mri(r, triage=28, assess=14, request=14, protocol=13)
        s.schedule(mri, 6 - ahead, s.weekday(ahead), scanner=s.scanners[scanner] if scanner else None, **data)


def waiting_to_be_booked(s):
    """Four protocoled requests on the waiting list, three past their scan's due date; two have a slot
    held (it lapses after CAREPATH_SLOT_HOLD_MINUTES, as a coordinator's hold would)."""
    for n, given, family, years, priority, requested, hold in WAITING:
        r = s.child(n, given, family, requested + 2, years=years, priority=priority, referrer="dr.osei")
        mri = s.to_mri(r, triage=requested + 1, assess=requested, request=requested, protocol=requested - 1)
        if hold:
            slot = s.slot(mri, 0, s.weekday(2))
            booking.hold(
                mri_request_id=mri.pk, actor=s.users["coord.jones"], scanner=slot.scanner_id, scheduled_start=slot.start
            )


STORIES = [booked_this_week, waiting_to_be_booked]
