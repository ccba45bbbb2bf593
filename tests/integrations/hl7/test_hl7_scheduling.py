"""Scheduling messages from the RIS (SIU^S12/S13/S15/S26, OMI^O23 scheduled) become imaging's
schedule, reschedule, cancel and not-brought transitions, over a real MLLP connection on localhost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import CaseEvent
from imaging.models import MRIRequest
from integrations.hl7 import samples
from integrations.hl7.models import InboundMessage, RisOrder, ScannerCode
from integrations.hl7.orders import placer_number
from tests.capacity.scanners import at, department, request_for, scan_day

from .conftest import ack_of

pytestmark = pytest.mark.django_db(transaction=True)


def booked(pathway, ris_client, control_id="S12-1", hhmm="14:00"):
    site, big, _, _ = department()
    ScannerCode.objects.create(code="MR1", scanner=big)
    mri = request_for(pathway)
    start = at(scan_day(), hhmm)
    ack = ris_client(samples.siu("S12", control_id, placer=placer_number(mri.pk), filler="F100", start=start))
    return MRIRequest.objects.get(pk=mri.pk), ack, big, start


def test_an_siu_s12_books_the_mapped_scanner_and_the_ack_is_aa(pathway, ris_client):
    mri, ack, big, start = booked(pathway, ris_client)

    assert ack_of(ack)[0] == "AA"
    assert ack["MSA-2"] == "S12-1"
    assert mri.state == "scheduled"
    assert (mri.appointment.start, mri.appointment.location) == (start, "Children's Hospital — MRI 1")
    assert CaseEvent.objects.get(transition="schedule").data["scanner"] == big.pk
    assert RisOrder.objects.get(mri_request=mri).filler_number == "F100"
    row = InboundMessage.objects.get(control_id="S12-1")
    assert (row.outcome, row.ack_code, row.transition, row.mri_request_id) == ("processed", "AA", "schedule", mri.pk)


def test_an_siu_s13_moves_the_booking_found_by_the_filler_number_alone(pathway, ris_client):
    mri, _, _, start = booked(pathway, ris_client)
    later = start + timedelta(hours=2)

    ack = ris_client(samples.siu("S13", "S13-1", placer="", filler="F100", start=later, reason="Family asked"))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AA"
    assert mri.appointment.start == later
    assert CaseEvent.objects.get(transition="reschedule").data["reason"] == "Family asked"


def test_an_siu_s15_cancels_the_mri_request_with_the_ris_reason(pathway, ris_client):
    mri, _, _, start = booked(pathway, ris_client)

    ack = ris_client(samples.siu("S15", "S15-1", placer=placer_number(mri.pk), start=start, reason="No longer needed"))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AA"
    assert (mri.state, mri.cancel_reason) == ("cancelled", "No longer needed")
    assert mri.referral.state == "assessed"


def test_an_siu_s26_records_that_the_child_was_not_brought_once_the_time_has_passed(pathway, ris_client):
    mri, _, _, start = booked(pathway, ris_client)  # then the time passes:
    mri.appointment.__class__.objects.filter(pk=mri.appointment.pk).update(
        start=timezone.now() - timedelta(hours=2), end=timezone.now() - timedelta(hours=1)
    )

    ack = ris_client(samples.siu("S26", "S26-1", placer=placer_number(mri.pk), start=start))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AA"
    assert mri.state == "needs_rebooking"


def test_a_no_show_before_the_appointment_is_ae_and_changes_nothing(pathway, ris_client):
    mri, _, _, start = booked(pathway, ris_client)
    events = CaseEvent.objects.count()

    ack = ris_client(samples.siu("S26", "S26-early", placer=placer_number(mri.pk), start=start))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AE"
    assert ack["ERR-3.1"] == "207"
    assert (mri.state, CaseEvent.objects.count()) == ("scheduled", events)
    row = InboundMessage.objects.get(control_id="S26-early")
    assert (row.outcome, row.ack_code) == ("error", "AE") and row.error


def test_an_omi_o23_scheduled_status_books_and_then_moves_the_booking(pathway, ris_client):
    site, big, _, _ = department()
    ScannerCode.objects.create(code="MR1", scanner=big)
    mri = request_for(pathway)
    start = at(scan_day(), "10:00")

    first = ris_client(samples.order_status("OMI", "O23-1", placer=placer_number(mri.pk), status="SC", start=start))
    moved = ris_client(
        samples.order_status(
            "OMI", "O23-2", placer=placer_number(mri.pk), status="SC", start=start + timedelta(hours=4)
        )
    )

    mri.refresh_from_db()
    assert (ack_of(first)[0], ack_of(moved)[0]) == ("AA", "AA")
    assert mri.appointment.start == start + timedelta(hours=4)
    assert list(CaseEvent.objects.filter(mri_request=mri).values_list("transition", flat=True).order_by("pk"))[-2:] == [
        "schedule",
        "reschedule",
    ]
