"""Booking under real concurrency on PostgreSQL (docs/capacity.md, "Booking"): many coordinators
booking one slot at once, each in its own thread and connection; exactly one wins and every other
gets the 409. The exclusion constraints refuse an overlap on their own, without the service."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from imaging.capacity import booking
from imaging.capacity.models import Reservation
from imaging.machine import MRI_MACHINE
from imaging.models import Appointment
from tests.pathway.test_concurrency import make_pathway, race

from .scanners import at, department, scan_day

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("require_postgres"),
]
N = 12


def book_one_slot_at_once(pathway, requests, scanner, start):
    data = {"scanner": scanner.pk, "scheduled_start": start.isoformat()}
    return race(
        [(lambda mri=mri: MRI_MACHINE.run("schedule", pk=mri.pk, actor=pathway.coord, data=data)) for mri in requests]
    )


def protocoled_requests(pathway, n, **kw):
    return [pathway.mri(pathway.protocoled(**kw)) for _ in range(n)]


def test_twelve_coordinators_booking_one_slot_at_once_one_wins_and_the_rest_get_a_409():
    pathway = make_pathway()
    _, big, _, _ = department()
    requests = protocoled_requests(pathway, N)

    outcomes = book_one_slot_at_once(pathway, requests, big, at(scan_day(), "14:00"))

    assert outcomes == {"ok": 1, "SlotTaken": N - 1}, outcomes
    assert Reservation.objects.filter(released_at__isnull=True).count() == 1
    assert Appointment.objects.filter(status="booked").count() == 1


def test_with_the_services_check_bypassed_the_constraint_alone_lets_one_win_and_the_rest_get_the_same_409(
    monkeypatch,
):
    """Every thread sees a free slot (the pre-check is skipped): the exclusion constraint refuses
    all but the first insert, and its refusal becomes the SlotTaken 409, not a crash."""
    pathway = make_pathway()
    _, big, small, _ = department()
    requests = protocoled_requests(pathway, N, suspected_lesion=True)  # general anaesthesia: one list
    monkeypatch.setattr(booking, "_choose_list", lambda slot, mri, now: ((slot.anaesthesia_lists or (None,))[0], []))

    outcomes = book_one_slot_at_once(pathway, requests, big, at(scan_day(), "09:00"))

    assert outcomes == {"ok": 1, "SlotTaken": N - 1}, outcomes
    assert Reservation.objects.filter(released_at__isnull=True).count() == 1


def test_general_anaesthesia_bookings_on_two_scanners_sharing_one_list_one_wins_and_none_deadlocks():
    """Each row conflicts with the others only on the anaesthesia list: the inserts wait for each
    other inside the constraint's check, PostgreSQL aborts some with a deadlock, and those try again
    (bench/booking.py found them as 500s)."""
    pathway = make_pathway()
    _, big, small, _ = department()
    requests = protocoled_requests(pathway, N, suspected_lesion=True)  # general anaesthesia
    start = at(scan_day(), "09:00").isoformat()
    calls = [
        (
            lambda mri=mri, scanner=scanner: MRI_MACHINE.run(
                "schedule", pk=mri.pk, actor=pathway.coord, data={"scanner": scanner.pk, "scheduled_start": start}
            )
        )
        for mri, scanner in zip(requests, [big, small] * (N // 2), strict=True)
    ]

    outcomes = race(calls)

    assert outcomes == {"ok": 1, "SlotTaken": N - 1}, outcomes
    assert Reservation.objects.filter(released_at__isnull=True).count() == 1


def _reservation(pathway, mri, scanner, start, minutes=45, turnaround=10, **kw):
    return Reservation(
        scanner=scanner,
        mri_request=mri,
        patient_id=mri.referral.patient_id,
        kind="hold",
        sedation="none",
        start=start,
        end=start + timedelta(minutes=minutes),
        busy_until=start + timedelta(minutes=minutes + turnaround),
        expires_at=timezone.now() + timedelta(minutes=10),
        created_by=pathway.coord,
        created_at=timezone.now(),
        **kw,
    )


def refused(row) -> str:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        return exc.__cause__.diag.constraint_name
    return "saved"


def test_the_exclusion_constraints_refuse_an_overlapping_insert_without_the_service():
    pathway = make_pathway()
    site, big, small, awake = department()
    ga_list = site.anaesthesia_lists.first()
    one, two = protocoled_requests(pathway, 2)
    day = scan_day()
    _reservation(pathway, one, big, at(day, "14:00"), anaesthesia_list=ga_list).save()  # busy 14:00–14:55

    assert refused(_reservation(pathway, two, big, at(day, "14:50"))) == "no_double_booked_scanner"  # turnaround
    assert refused(_reservation(pathway, two, small, at(day, "14:30"), anaesthesia_list=ga_list)) == (
        "no_double_booked_anaesthesia_list"
    )
    assert refused(_reservation(pathway, one, awake, at(day, "14:30"))) == "no_double_booked_child"
    assert refused(_reservation(pathway, two, big, at(day, "14:55"))) == "saved"  # back to back
    released = _reservation(pathway, two, big, at(day, "14:30"), released_at=timezone.now())
    override = _reservation(pathway, two, big, at(day, "14:30"), override_reason="Emergency.")
    assert (refused(released), refused(override)) == ("saved", "saved")  # outside the constraints
