"""The scanner's `.ics` feed (docs/capacity.md, "The scanner's .ics feed"): live reservations only, no
child's name or identifier beyond the MRI request number, a wrong token is a 404, each fetch audited."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from carepath.models import AuditLog
from imaging.capacity import ics
from imaging.capacity.models import Reservation, ReservationKind
from imaging.choices import Sedation
from referrals.access_history import rows_touching

pytestmark = pytest.mark.django_db


def reserve(mri, scanner, start, *, kind=ReservationKind.BOOKING, sedation=Sedation.GENERAL_ANAESTHESIA, **extra):
    """A reservation written straight to the table (the feed reads whatever the booking service wrote)."""
    fields = {
        "scanner": scanner,
        "mri_request": mri,
        "patient_id": mri.referral.patient_id,
        "kind": kind,
        "sedation": sedation,
        "start": start,
        "end": start + timedelta(minutes=60),
        "busy_until": start + timedelta(minutes=90),
        "created_by": mri.requested_by,
        "created_at": timezone.now(),
        "appointment": mri.appointment if kind == ReservationKind.BOOKING else None,
        "expires_at": timezone.now() + timedelta(minutes=10) if kind == ReservationKind.HOLD else None,
    }
    return Reservation.objects.create(**{**fields, **extra})


def feed_url(scanner, token=None):
    return f"/mri/scanners/{scanner.pk}/calendar.ics?token={scanner.calendar_token if token is None else token}"


def unfolded(body: str) -> list[str]:
    return body.replace("\r\n ", "").split("\r\n")


@pytest.fixture
def booked(pathway, request):
    """A GA child booked on the 3 T scanner in 3 days, and another child's hold the day after. The case
    is scheduled before the scanners are set up (a typed location; docs/capacity.md, "Booking")."""
    mri = pathway.mri(pathway.scheduled())
    scanners = request.getfixturevalue("scanners")
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    booking = reserve(mri, scanners["3T"], start)
    other = pathway.mri(pathway.protocoled())
    hold = reserve(other, scanners["3T"], start + timedelta(days=1), kind=ReservationKind.HOLD, sedation="none")
    return booking, hold


def test_the_feed_lists_booked_and_held_scans_with_the_request_number_and_sedation_badge(client, booked):
    booking, hold = booked
    response = client.get(feed_url(booking.scanner))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    lines = unfolded(response.content.decode())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert f"SUMMARY:{booking.mri_request} (GA)" in lines
    assert f"SUMMARY:Held: {hold.mri_request}" in lines
    assert "STATUS:CONFIRMED" in lines and "STATUS:TENTATIVE" in lines
    assert f"DTSTART:{booking.start.astimezone(UTC):%Y%m%dT%H%M%SZ}" in lines
    assert "CATEGORIES:GA" in lines


def test_the_feed_names_no_child(client, booked):
    booking, hold = booked
    body = client.get(feed_url(booking.scanner)).content.decode()
    for mri in (booking.mri_request, hold.mri_request):
        patient = mri.referral.patient
        for identifier in (patient.given_name, patient.family_name, patient.mrn, mri.referral.reference):
            assert identifier not in body
        assert patient.birth_date.strftime("%Y%m%d") not in body
        assert mri.clinical_question.replace(",", "\\,") not in body
        assert f"/cases/{mri.referral_id}" not in body


def test_released_lapsed_and_other_scanners_reservations_are_left_out(client, booked, scanners):
    booking, hold = booked
    hold.expires_at = timezone.now() - timedelta(minutes=1)
    hold.save()
    body = client.get(feed_url(booking.scanner)).content.decode()
    assert str(hold.mri_request) not in body

    booking.released_at, booking.release_reason = timezone.now(), "cancelled"
    booking.save()
    assert "BEGIN:VEVENT" not in client.get(feed_url(booking.scanner)).content.decode()
    assert "BEGIN:VEVENT" not in client.get(feed_url(scanners["1.5T"])).content.decode()


def test_a_wrong_or_missing_token_or_unknown_scanner_is_not_found(client, booked, scanners):
    scanner = booked[0].scanner
    assert client.get(feed_url(scanner, token="guess")).status_code == 404
    assert client.get(f"/mri/scanners/{scanner.pk}/calendar.ics").status_code == 404
    assert client.get(feed_url(scanner, token=scanners["1.5T"].calendar_token)).status_code == 404
    assert client.get(f"/mri/scanners/999999/calendar.ics?token={scanner.calendar_token}").status_code == 404


def test_a_new_token_revokes_the_old_address(client, booked):
    scanner = booked[0].scanner
    old = scanner.calendar_token
    scanner.calendar_token = "a-new-secret-token-for-this-scanner"
    scanner.save()
    assert client.get(feed_url(scanner, token=old)).status_code == 404
    assert client.get(feed_url(scanner)).status_code == 200


def test_each_fetch_is_audited_and_shows_in_the_childs_access_history(client, booked):
    booking, _hold = booked
    client.get(feed_url(booking.scanner), HTTP_USER_AGENT="Calendar/1.0")

    row = AuditLog.objects.get(action=AuditLog.Action.LIST, object_type="imaging.mrirequest")
    assert str(booking.mri_request_id) in row.changes["ids"]
    assert row.channel == "web" and row.user_agent == "Calendar/1.0" and row.actor is None
    assert row.changes["query"] == f"calendar feed: {booking.scanner}"
    assert row in rows_touching(booking.patient_id)


def test_text_is_escaped_and_long_lines_fold_at_75_octets_without_splitting_a_character():
    assert ics.escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "Anästhesie, " * 20
    folded = ics.fold(line)
    parts = folded.split("\r\n")
    assert parts[-1] == "" and all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:-1])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts[:-1])) == line
