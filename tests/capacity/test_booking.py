"""Booking MRI capacity through the schedule and reschedule transitions (docs/capacity.md,
"Booking"): one transaction takes the time with the appointment, a conflict is a 409 that changes
nothing, and ending an appointment frees a time that has not started."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from carepath.models import CaseEvent
from carepath.pathway.errors import Forbidden, InvalidData
from carepath.pathway.roles import Role
from imaging import services
from imaging.capacity import booking
from imaging.capacity.conflicts import SlotTaken
from imaging.capacity.models import Reservation
from imaging.models import Appointment, MRIRequest
from tests import factories as f

from .scanners import at, request_for, scan_day

pytestmark = pytest.mark.django_db


def schedule(pathway, mri, scanner, start, actor=None, **kw):
    return services.mri_schedule(
        mri_request_id=mri.pk, actor=actor or pathway.coord, scheduled_start=start, scanner=scanner.pk, **kw
    )


def nothing_written(mri, events_before):
    mri = MRIRequest.objects.get(pk=mri.pk)
    return mri.state == "protocoled" and not mri.appointments.exists() and CaseEvent.objects.count() == events_before


def test_booking_takes_the_scanners_time_with_the_appointment_and_names_the_place_from_the_scanner(pathway, place):
    _, big, _, _ = place
    mri = schedule(pathway, request_for(pathway), big, at(scan_day(), "14:00"))

    row = Reservation.objects.get()
    appointment = mri.appointment
    assert (row.kind, row.appointment, row.scanner) == ("booking", appointment, big)
    assert (appointment.location, appointment.end, row.busy_until) == (
        "Children's Hospital — MRI 1",
        at(scan_day(), "14:45"),
        at(scan_day(), "14:55"),
    )
    event = CaseEvent.objects.get(transition="schedule")
    assert (event.data["scanner"], event.data["reservation"], event.data["location"]) == (
        big.pk,
        row.pk,
        "Children's Hospital — MRI 1",
    )


def test_double_booking_a_scanner_including_its_turnaround_is_a_409_and_writes_nothing(pathway, place):
    _, big, _, _ = place
    schedule(pathway, request_for(pathway), big, at(scan_day(), "14:00"))  # busy until 14:55
    second = request_for(pathway)
    events = CaseEvent.objects.count()

    with pytest.raises(SlotTaken) as refused:
        schedule(pathway, second, big, at(scan_day(), "14:50"))

    assert refused.value.detail.startswith("Children's Hospital — MRI 1 is booked 14:00–14:55.")
    assert nothing_written(second, events) and Reservation.objects.count() == 1
    assert schedule(pathway, second, big, at(scan_day(), "14:55")).state == "scheduled"


def test_two_general_anaesthetics_overlapping_on_one_list_is_a_409_and_outside_a_list_a_422(pathway, place):
    _, big, small, _ = place
    first, second = (request_for(pathway, suspected_lesion=True) for _ in range(2))
    schedule(pathway, first, big, at(scan_day(), "09:00"))
    events = CaseEvent.objects.count()

    with pytest.raises(SlotTaken, match="The anaesthesia list Paediatric GA list has another child booked"):
        schedule(pathway, second, small, at(scan_day(), "09:45"))
    with pytest.raises(InvalidData) as outside:
        schedule(pathway, second, small, at(scan_day(), "14:00"))

    assert outside.value.status == 422 and "anaesthesia list" in outside.value.errors["scheduled_start"][0]
    assert nothing_written(second, events)


def test_the_same_child_cannot_be_booked_twice_at_once(pathway, place):
    _, big, _, awake = place
    patient = f.make_patient(pathway.ped)
    schedule(pathway, request_for(pathway, patient=patient), big, at(scan_day(), "14:00"))
    second = request_for(pathway, patient=patient)

    with pytest.raises(SlotTaken, match="This child is already booked on Children's Hospital — MRI 1 14:00"):
        schedule(pathway, second, awake, at(scan_day(), "14:15"))


def test_a_lapsed_hold_does_not_block_and_the_requests_own_hold_becomes_the_booking(pathway, place):
    _, big, _, _ = place
    mine, theirs = request_for(pathway), request_for(pathway)
    lapsed = booking.hold(
        mri_request_id=theirs.pk, actor=pathway.coord, scanner=big.pk, scheduled_start=at(scan_day(), "14:00")
    )
    Reservation.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    held = booking.hold(
        mri_request_id=mine.pk, actor=pathway.coord, scanner=big.pk, scheduled_start=at(scan_day(), "14:00")
    )

    schedule(pathway, mine, big, at(scan_day(), "14:00"), hold=held.pk)

    held.refresh_from_db()
    assert (held.kind, held.appointment_id, held.expires_at) == (
        "booking",
        MRIRequest.objects.get(pk=mine.pk).appointment_id,
        None,
    )
    assert Reservation.objects.get(pk=lapsed.pk).release_reason == booking.LAPSED


def test_another_requests_live_hold_blocks_the_booking(pathway, place):
    _, big, _, _ = place
    mine, theirs = request_for(pathway), request_for(pathway)
    held = booking.hold(
        mri_request_id=theirs.pk, actor=pathway.coord, scanner=big.pk, scheduled_start=at(scan_day(), "14:00")
    )

    with pytest.raises(SlotTaken, match="is held 14:00–14:55"):
        schedule(pathway, mine, big, at(scan_day(), "14:30"))
    with pytest.raises(InvalidData, match="not a hold of this request"):
        schedule(pathway, mine, big, at(scan_day(), "16:00"), hold=held.pk)


def test_rescheduling_frees_the_old_time_in_the_same_transaction(pathway, place):
    _, big, _, _ = place
    mri = schedule(pathway, request_for(pathway), big, at(scan_day(), "14:00"))
    old = mri.appointment

    services.mri_reschedule(
        mri_request_id=mri.pk, actor=pathway.coord, scheduled_start=at(scan_day(), "14:30"), reason="Family asked."
    )

    before = Reservation.objects.get(appointment=old)
    after = Reservation.objects.get(appointment=MRIRequest.objects.get(pk=mri.pk).appointment)
    assert before.released_at is not None and before.release_reason == "rescheduled"
    assert (after.scanner, after.start, after.released_at) == (
        big,
        at(scan_day(), "14:30"),
        None,
    )  # overlaps the old: fine
    assert schedule(pathway, request_for(pathway), big, at(scan_day(), "13:30")).state == "scheduled"


def test_cancelling_frees_the_time_and_a_started_appointment_keeps_it_as_history(pathway, place):
    _, big, _, _ = place
    mri = schedule(pathway, request_for(pathway), big, at(scan_day(), "14:00"))
    services.mri_cancel(mri_request_id=mri.pk, actor=pathway.coord, reason="Symptoms resolved.")
    assert Reservation.objects.get().release_reason == "cancelled"
    assert schedule(pathway, request_for(pathway), big, at(scan_day(), "14:00")).state == "scheduled"

    booked = MRIRequest.objects.get(state="scheduled")
    begun = timezone.now() - timedelta(minutes=10)  # the appointment has started: its time was used
    Appointment.objects.filter(pk=booked.appointment_id).update(start=begun)
    Reservation.objects.filter(appointment=booked.appointment_id).update(start=begun)
    services.mri_record_was_not_brought(mri_request_id=booked.pk, actor=pathway.coord)
    assert Reservation.objects.get(appointment=booked.appointment_id).released_at is None


def test_an_admin_books_over_a_conflict_with_a_reason_recorded_and_nobody_else_may(pathway, place, groups):
    _, big, _, _ = place
    schedule(pathway, request_for(pathway), big, at(scan_day(), "14:00"))
    second = request_for(pathway)
    events = CaseEvent.objects.count()
    with pytest.raises(Forbidden):
        schedule(pathway, second, big, at(scan_day(), "14:00"), override_reason="Clinically urgent.")
    assert nothing_written(second, events)

    lead = f.user_with_role(Role.IMAGING_COORDINATOR, "lead_radiographer")
    lead.groups.add(Group.objects.get(name=Role.ADMIN))  # a coordinator who is also an administrator
    schedule(pathway, second, big, at(scan_day(), "14:00"), actor=lead, override_reason="Clinically urgent.")

    row = Reservation.objects.get(mri_request=second)
    event = CaseEvent.objects.get(transition="schedule", mri_request=second)
    assert row.override_reason == event.data["override_reason"] == "Clinically urgent."
    assert event.data["overridden"] == ["Children's Hospital — MRI 1 is booked 14:00–14:55."]


def test_a_typed_location_is_for_sites_without_scanners(pathway, place):
    _, big, _, _ = place
    mri = request_for(pathway)
    with pytest.raises(InvalidData) as refused:
        services.mri_schedule(
            mri_request_id=mri.pk, actor=pathway.coord, scheduled_start=at(scan_day(), "14:00"), location="Scanner 4"
        )
    assert "scanner" in refused.value.errors
    with pytest.raises(InvalidData) as both:
        schedule(pathway, mri, big, at(scan_day(), "14:00"), location="Scanner 4")
    assert "location" in both.value.errors
    assert not Appointment.objects.exists()
