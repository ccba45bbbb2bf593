"""The booking benchmark's own logic (bench/booking.py, bench/booking_race.py): how an answer is
counted, and the database check that finds double bookings. Nothing here is timed."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bench.booking import double_bookings
from bench.booking_race import outcome, tally
from bench.booking_seed import occupancy
from imaging.capacity.booking import EXCLUSIONS
from imaging.capacity.models import Reservation
from tests.capacity.scanners import at, department, request_for, scan_day

PROBLEM = "application/problem+json"


def test_only_a_409_problem_of_type_slottaken_counts_as_a_clean_loss():
    taken = b'{"type": "https://carepath.example.org/problems/slottaken", "status": 409}'
    stale = b'{"type": "https://carepath.example.org/problems/stale", "status": 409}'
    answers = [
        outcome("200 OK", "application/json", b"{}"),
        outcome("409 Conflict", PROBLEM, taken),
        outcome("409 Conflict", PROBLEM, stale),
        outcome("409 Conflict", "text/html", b"<h1>Conflict</h1>"),
        outcome("500 Internal Server Error", "text/html", b"<h1>Server Error</h1>"),
    ]

    assert tally(answers) == {
        "won": 1,
        "slot_taken": 1,
        "other": {
            "409 Conflict https://carepath.example.org/problems/stale": 1,
            "409 Conflict text/html": 1,
            "500 Internal Server Error text/html": 1,
        },
    }


def test_the_coming_two_weeks_are_nearly_full_and_later_weeks_thin_out():
    assert occupancy(-30) == 0.85
    assert occupancy(0) == occupancy(14) == 0.95
    assert occupancy(14) > occupancy(35) > occupancy(56) > occupancy(57) == 0.03


def _reservation(pathway, mri, scanner, start, **kw):
    return Reservation.objects.create(
        scanner=scanner,
        mri_request=mri,
        patient_id=mri.referral.patient_id,
        kind="hold",
        sedation="none",
        start=start,
        end=start + timedelta(minutes=30),
        busy_until=start + timedelta(minutes=40),
        expires_at=timezone.now() + timedelta(minutes=10),
        created_by=pathway.coord,
        created_at=timezone.now(),
        **kw,
    )


@pytest.mark.django_db
def test_the_check_counts_live_reservations_overlapping_another_on_a_scanner_and_of_a_child(pathway):
    """The bench runs this check on PostgreSQL, whose constraints would refuse these rows: they are
    dropped inside the test's transaction (rolled back with it). On SQLite nothing refuses them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for name in EXCLUSIONS:
                cursor.execute(f"ALTER TABLE imaging_reservation DROP CONSTRAINT {name}")
    _, big, small, _ = department()
    one, two = request_for(pathway), request_for(pathway)
    day = scan_day()
    _reservation(pathway, one, big, at(day, "14:00"))
    _reservation(pathway, two, big, at(day, "14:35"))  # inside the first one's turnaround
    _reservation(pathway, one, small, at(day, "14:20"))  # the same child, on another scanner
    _reservation(pathway, two, small, at(day, "14:20"), released_at=timezone.now())  # released: not live
    _reservation(pathway, two, small, at(day, "14:25"), override_reason="Emergency.")  # an override: allowed

    assert double_bookings() == {"live": 3, "scanner": 2, "anaesthesia_list": 0, "child": 2}
