"""Holding and booking MRI slots over the API (docs/api.md, docs/capacity.md "Booking"): `$hold`,
its release, and the schedule transition with a scanner; a conflict is a 409 problem+json that
names what is in the way and changes nothing."""

import pytest

from carepath.models import AuditLog, CaseEvent
from imaging.capacity.models import Reservation
from imaging.models import MRIRequest
from tests.capacity.scanners import at, department, scan_day

from .conftest import transition

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def place(db):
    return department()


def hold(client, mri, scanner, start, **data):
    body = {"scanner": scanner.pk, "scheduled_start": start.isoformat(), **data}
    return client.post(f"/api/v1/mri-requests/{mri.pk}/hold/", body, format="json")


def test_a_coordinator_holds_a_slot_and_books_it_with_the_schedule_transition(api, pathway, place):
    _, big, _, _ = place
    mri = pathway.mri(pathway.protocoled())
    client = api(pathway.coord)

    held = hold(client, mri, big, at(scan_day(), "14:00"))
    assert held.status_code == 201, held.content
    assert (held.json()["kind"], held.json()["location"], held.json()["expires_at"] is not None) == (
        "hold",
        "Children's Hospital — MRI 1",
        True,
    )
    data = {"scanner": big.pk, "scheduled_start": at(scan_day(), "14:00").isoformat(), "hold": held.json()["id"]}
    booked = transition(client, "mri-requests", mri.pk, "schedule", data)

    assert booked.status_code == 200, booked.content
    assert booked.json()["appointment"]["location"] == "Children's Hospital — MRI 1"
    row = Reservation.objects.get(pk=held.json()["id"])
    assert (row.kind, row.appointment_id) == ("booking", booked.json()["appointment"]["id"])
    assert AuditLog.objects.filter(object_type="imaging.reservation", actor=pathway.coord).count() == 2


def test_a_taken_slot_is_a_409_problem_naming_the_scanner_and_time_and_nothing_is_written(api, pathway, place):
    _, big, _, _ = place
    first, second = (pathway.mri(pathway.protocoled()) for _ in range(2))
    client = api(pathway.coord)
    assert hold(client, first, big, at(scan_day(), "14:00")).status_code == 201
    events = CaseEvent.objects.count()

    held = hold(client, second, big, at(scan_day(), "14:30"))
    data = {"scanner": big.pk, "scheduled_start": at(scan_day(), "14:30").isoformat()}
    booked = transition(client, "mri-requests", second.pk, "schedule", data)

    for response in (held, booked):
        assert (response.status_code, response["Content-Type"]) == (409, PROBLEM)
        assert response.json()["detail"] == ("Children's Hospital — MRI 1 is held 14:00–14:55. Choose another time.")
        conflict = response.json()["conflicts"][0]
        assert (conflict["scanner"], conflict["kind"], conflict["same_child"]) == (big.pk, "hold", False)
    assert MRIRequest.objects.get(pk=second.pk).state == "protocoled"
    assert CaseEvent.objects.count() == events and Reservation.objects.count() == 1


def test_rules_of_the_slot_are_422_and_bad_input_400(api, pathway, place):
    _, big, _, awake = place
    mri = pathway.mri(pathway.protocoled(suspected_lesion=True))  # general anaesthesia
    client = api(pathway.coord)

    outside = hold(client, mri, big, at(scan_day(), "15:00"))
    wrong_scanner = hold(client, mri, awake, at(scan_day(), "09:00"))
    missing = client.post(f"/api/v1/mri-requests/{mri.pk}/hold/", {"scanner": big.pk}, format="json")

    assert (outside.status_code, list(outside.json()["errors"])) == (422, ["scheduled_start"])
    assert (wrong_scanner.status_code, list(wrong_scanner.json()["errors"])) == (422, ["scanner"])
    assert (missing.status_code, list(missing.json()["errors"])) == (400, ["scheduled_start"])
    typed = transition(
        client,
        "mri-requests",
        mri.pk,
        "schedule",
        {"scheduled_start": at(scan_day(), "09:00").isoformat(), "location": "X"},
    )
    assert typed.status_code == 400 and "scanner" in typed.json()["errors"]
    assert not Reservation.objects.exists()


def test_who_may_hold(api, pathway, place, neurologist, other_pediatrician):
    _, big, _, _ = place
    mri = pathway.mri(pathway.protocoled())

    assert hold(api(pathway.neuro), mri, big, at(scan_day(), "14:00")).status_code == 403
    assert hold(api(other_pediatrician), mri, big, at(scan_day(), "14:00")).status_code == 404  # not their case
    assert not Reservation.objects.exists()


def test_releasing_a_hold_frees_the_slot_and_a_booked_one_cannot_be_released(api, pathway, place):
    _, big, _, _ = place
    mine, theirs = (pathway.mri(pathway.protocoled()) for _ in range(2))
    client = api(pathway.coord)
    held = hold(client, mine, big, at(scan_day(), "14:00")).json()

    released = client.delete(f"/api/v1/mri-requests/{mine.pk}/hold/{held['id']}/")
    again = client.delete(f"/api/v1/mri-requests/{mine.pk}/hold/{held['id']}/")
    elsewhere = client.delete(f"/api/v1/mri-requests/{theirs.pk}/hold/{held['id']}/")

    assert released.status_code == again.status_code == 200
    assert released.json()["released_at"] is not None and again.json()["released_at"] == released.json()["released_at"]
    assert elsewhere.status_code == 404
    second = hold(client, theirs, big, at(scan_day(), "14:00")).json()
    data = {"scanner": big.pk, "scheduled_start": at(scan_day(), "14:00").isoformat(), "hold": second["id"]}
    assert transition(client, "mri-requests", theirs.pk, "schedule", data).status_code == 200
    booked = client.delete(f"/api/v1/mri-requests/{theirs.pk}/hold/{second['id']}/")
    assert (booked.status_code, booked["Content-Type"]) == (409, PROBLEM)
