"""Holding an MRI slot (docs/capacity.md, "Booking"): a hold takes the time for a few minutes, is
refused with a 409 naming what is in the way, lapses by itself, and never outlives its use."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import AuditLog, Timer, TimerKind, TimerState
from carepath.pathway.errors import Forbidden, InvalidData, RuleBroken
from carepath.timers import sweep
from imaging.capacity import booking
from imaging.capacity.conflicts import SlotTaken
from imaging.capacity.models import Closure, Reservation
from tests import factories as f

from .scanners import at, request_for, scan_day

pytestmark = pytest.mark.django_db


def hold(pathway, mri, scanner, start, **kw):
    return booking.hold(mri_request_id=mri.pk, actor=pathway.coord, scanner=scanner.pk, scheduled_start=start, **kw)


def test_a_hold_takes_scan_and_turnaround_and_lapses_after_the_hold_minutes(pathway, place, settings):
    settings.CAREPATH_SLOT_HOLD_MINUTES = 10
    _, big, _, _ = place
    mri = request_for(pathway)  # 8 years old: awake, 45 min protocoled (longer than the 30-min rule) + 10
    before = timezone.now()
    row = hold(pathway, mri, big, at(scan_day(), "14:00"))

    assert (row.kind, row.scanner, row.sedation) == ("hold", big, "none")
    assert (row.end - row.start, row.busy_until - row.end) == (timedelta(minutes=45), timedelta(minutes=10))
    assert before + timedelta(minutes=10) <= row.expires_at <= timezone.now() + timedelta(minutes=10)
    timer = Timer.objects.get(kind=TimerKind.RELEASE_HOLD)
    assert (timer.due_at, timer.data) == (row.expires_at, {"reservation": row.pk})
    assert AuditLog.objects.filter(object_type="imaging.reservation", object_id=str(row.pk), action="create").exists()


def test_another_requests_hold_in_the_scan_or_its_turnaround_is_a_409_naming_the_scanner_not_the_child(pathway, place):
    _, big, _, _ = place
    first, second = request_for(pathway), request_for(pathway, patient=f.make_patient(pathway.ped, given_name="Sam"))
    hold(pathway, first, big, at(scan_day(), "14:00"))  # busy 14:00–14:55

    with pytest.raises(SlotTaken) as refused:
        hold(pathway, second, big, at(scan_day(), "14:50"))  # in the turnaround

    assert refused.value.status == 409
    assert "Children's Hospital — MRI 1 is held 14:00–14:55." in refused.value.detail
    assert "Alex" not in refused.value.detail and "Morgan" not in refused.value.detail
    assert Reservation.objects.count() == 1 and Timer.objects.filter(kind=TimerKind.RELEASE_HOLD).count() == 1
    assert hold(pathway, second, big, at(scan_day(), "14:55")).start == at(scan_day(), "14:55")  # after it: free


def test_a_lapsed_hold_blocks_nobody_and_is_released_by_the_next_hold_over_it(pathway, place):
    _, big, _, _ = place
    first, second = request_for(pathway), request_for(pathway)
    stale = hold(pathway, first, big, at(scan_day(), "14:00"))
    Reservation.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    fresh = hold(pathway, second, big, at(scan_day(), "14:15"))

    stale.refresh_from_db()
    assert stale.released_at is not None and stale.release_reason == booking.LAPSED
    assert fresh.released_at is None
    assert Timer.objects.get(key=f"hold{stale.pk}:release").state == TimerState.CANCELLED


def test_the_timer_releases_a_lapsed_hold_once_and_leaves_a_released_one_alone(pathway, place):
    _, big, _, _ = place
    mri = request_for(pathway)
    row = hold(pathway, mri, big, at(scan_day(), "14:00"))

    sweep.run_sync(now=row.expires_at + timedelta(seconds=1))
    row.refresh_from_db()
    assert (row.release_reason, Timer.objects.get(key=f"hold{row.pk}:release").state) == (booking.LAPSED, "done")
    released_at = row.released_at

    Timer.objects.filter(key=f"hold{row.pk}:release").update(state=TimerState.PENDING)  # fired again
    sweep.run_sync(now=row.expires_at + timedelta(minutes=5))
    row.refresh_from_db()
    assert row.released_at == released_at


def test_a_new_hold_replaces_the_requests_earlier_one_and_release_hold_frees_it(pathway, place):
    _, big, _, _ = place
    mri, other = request_for(pathway), request_for(pathway)
    first = hold(pathway, mri, big, at(scan_day(), "14:00"))
    second = hold(pathway, mri, big, at(scan_day(), "15:00"))
    first.refresh_from_db()
    assert first.released_at is not None and second.released_at is None

    booking.release_hold(reservation_id=second.pk, actor=pathway.coord, mri_request_id=mri.pk)

    assert hold(pathway, other, big, at(scan_day(), "15:00")).scanner == big
    assert Timer.objects.get(key=f"hold{second.pk}:release").state == TimerState.CANCELLED


def test_general_anaesthesia_outside_an_anaesthesia_list_is_refused_with_a_422(pathway, place):
    _, big, _, _ = place
    mri = request_for(pathway, suspected_lesion=True)  # a suspected mass: general anaesthesia

    with pytest.raises(RuleBroken) as refused:
        hold(pathway, mri, big, at(scan_day(), "14:00"))

    assert refused.value.status == 422 and "scheduled_start" in refused.value.errors
    assert "needs an anaesthesia list" in refused.value.detail
    with pytest.raises(RuleBroken):  # 12:00 + 60 + 30 runs past the list's 13:00
        hold(pathway, mri, big, at(scan_day(), "12:00"))
    row = hold(pathway, mri, big, at(scan_day(), "11:30"))
    assert row.anaesthesia_list.name == "Paediatric GA list" and row.busy_until == at(scan_day(), "13:00")
    assert not Reservation.objects.exclude(pk=row.pk).exists()


def test_a_scanner_that_cannot_take_the_sedation_plan_or_has_no_session_then_is_refused(pathway, place):
    site, big, _, awake = place
    child = request_for(pathway, suspected_lesion=True)
    with pytest.raises(RuleBroken) as refused:
        hold(pathway, child, awake, at(scan_day(), "09:00"))
    assert "scanner" in refused.value.errors and "general anaesthesia" in refused.value.detail

    older = request_for(pathway)
    for start in (at(scan_day(), "17:30"), at(scan_day() + timedelta(days=5), "10:00")):  # past 18:00; Saturday
        with pytest.raises(RuleBroken, match="no open session"):
            hold(pathway, older, big, start)
    Closure.objects.create(
        site=site, scanner=big, start=at(scan_day(), "13:00"), end=at(scan_day(), "16:00"), reason="Helium fill"
    )
    with pytest.raises(RuleBroken, match="no open session"):
        hold(pathway, older, big, at(scan_day(), "15:00"))
    with pytest.raises(InvalidData) as unknown:
        booking.hold(
            mri_request_id=older.pk, actor=pathway.coord, scanner=10**6, scheduled_start=at(scan_day(), "09:00")
        )
    assert "scanner" in unknown.value.errors
    assert not Reservation.objects.exists()


def test_two_general_anaesthetics_on_one_list_cannot_overlap_even_on_different_scanners(pathway, place):
    _, big, small, _ = place
    first, second = (request_for(pathway, suspected_lesion=True) for _ in range(2))
    hold(pathway, first, big, at(scan_day(), "09:00"))  # the team is busy 09:00–10:30

    with pytest.raises(SlotTaken) as refused:
        hold(pathway, second, small, at(scan_day(), "10:00"))

    assert "The anaesthesia list Paediatric GA list has another child held 09:00–10:30." in refused.value.detail
    assert hold(pathway, second, small, at(scan_day(), "10:30")).scanner == small


def test_the_same_child_cannot_be_in_two_scanners_at_once(pathway, place):
    _, big, _, awake = place
    patient = f.make_patient(pathway.ped)
    first = request_for(pathway, patient=patient)
    second = pathway.mri(pathway.protocoled(patient=patient))  # the same child, another referral
    hold(pathway, first, big, at(scan_day(), "14:00"))

    with pytest.raises(SlotTaken, match="This child is already held on Children's Hospital — MRI 1"):
        hold(pathway, second, awake, at(scan_day(), "14:30"))
    # at 14:45 the scan has ended: the turnaround is the room's, not the child's
    assert hold(pathway, second, awake, at(scan_day(), "14:45")).scanner == awake


def test_only_the_roles_that_book_may_hold(pathway, place):
    _, big, _, _ = place
    mri = request_for(pathway)
    with pytest.raises(Forbidden):
        booking.hold(
            mri_request_id=mri.pk, actor=pathway.neuro, scanner=big.pk, scheduled_start=at(scan_day(), "14:00")
        )
    assert not Reservation.objects.exists()
