"""Booking from the calendar (docs/capacity.md, "Booking from the calendar"): the waiting list's
"Book in the calendar" opens the calendar for one request on its earliest slot's week and scanner;
the free times list the start times the finder offers it; one opens the case's booking form with
that slot chosen."""

import html
import re
from urllib.parse import unquote

import pytest

from carepath.models import AuditLog, Holiday
from imaging.capacity import picker
from imaging.models import MRIRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_holidays():
    Holiday.objects.all().delete()


def book_links(body: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a class="button[^"]*" href="([^"]+)">Book \d\d:\d\d', body)]


def test_a_coordinator_books_a_ga_child_from_the_calendar(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled(suspected_lesion=True))  # general anaesthesia
    client = signed_in(coordinator)

    waiting = client.get("/mri/waiting/").content.decode()
    assert f'href="/mri/calendar/?book={mri.pk}"' in waiting
    body = client.get(f"/mri/calendar/?book={mri.pk}").content.decode()

    assert f"Booking {mri}" in body and "General anaesthesia" in body
    assert 'MRI 2 (1.5 T)<span class="small muted"> · awake only · not for this child' in body
    links = book_links(body)
    assert links and all(link.startswith(f"/cases/{mri.referral_id}/?slot=") for link in links)
    assert links[0].endswith(f"#action-mri-{mri.pk}-schedule")
    chosen = unquote(links[0].split("slot=", 1)[1].split("#", 1)[0])
    scanner, start = picker.decode(chosen)
    assert scanner == scanners["3T"].pk

    case = client.get(links[0]).content.decode()
    assert re.search(r'value="' + re.escape(chosen) + r'" checked', case)
    response = client.post(
        f"/cases/{mri.referral_id}/",
        {"machine": "mri", "object": mri.pk, "transition": "schedule", "version": mri.version, "slot": chosen},
    )
    assert response.status_code == 302
    booked = MRIRequest.objects.get(pk=mri.pk)
    assert (booked.state, booked.appointment.start, booked.appointment.sedation) == (
        "scheduled",
        start,
        "general_anaesthesia",
    )
    after = client.get(f"/mri/calendar/?scanner={scanner}&date={start.date().isoformat()}").content.decode()
    patient = booked.referral.patient
    assert f"{patient.family_name.upper()}, {patient.given_name}" in after


def test_booking_mode_is_audited_and_kept_while_moving_about(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())

    body = signed_in(coordinator).get(f"/mri/calendar/?book={mri.pk}").content.decode()

    assert body.count(f"book={mri.pk}") >= 5  # tabs, previous/next/today, day view, the date form
    row = AuditLog.objects.filter(actor=coordinator, action=AuditLog.Action.VIEW).latest("id")
    assert (row.object_id, row.changes) == (str(mri.pk), {"what": "calendar booking"})


def test_who_does_not_book_sees_the_plain_calendar(signed_in, neuroradiologist, neurologist, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())

    body = signed_in(neuroradiologist).get(f"/mri/calendar/?book={mri.pk}").content.decode()

    assert "Booking " not in body and not book_links(body)
    assert f"/mri/calendar/?book={mri.pk}" not in signed_in(neurologist).get("/mri/waiting/").content.decode()


def test_an_unknown_request_is_a_404(signed_in, coordinator, scanners):
    assert signed_in(coordinator).get("/mri/calendar/?book=999999").status_code == 404
    assert signed_in(coordinator).get("/mri/calendar/?book=x").status_code == 404
