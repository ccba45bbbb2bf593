"""A scanner's `.ics` feed (RFC 5545) for the imaging department's calendar (docs/capacity.md, "The
scanner's .ics feed"): its live reservations, booked and held, with nothing that names a child.

Each event says only the MRI request's number, whether it is held or booked, the sedation plan (a
GA or sedation badge: the anaesthetic and nursing teams plan by it), how long the scanner stays busy
after the scan (turnaround), the anaesthesia list, and whether an admin booked it over a conflict
(never the override's reason, which may be clinical). No name, MRN, birth date, clinical question,
priority, guardian or link to the case. Times are in UTC (`Z`), so no VTIMEZONE is needed.

Written by hand (no calendar library): TEXT values escaped (backslash, semicolon, comma, newline),
lines ended with CRLF and folded at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1).
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from django.utils import timezone

from imaging.choices import Sedation

from .models import Reservation, ReservationKind, Scanner

PRODID = "-//CarePath//MRI capacity//EN"
FOLD_AT = 75  # octets per line, not counting the CRLF

# The calendar's short badge for a sedation plan (none for awake scans).
BADGES = {
    Sedation.GENERAL_ANAESTHESIA: "GA",
    Sedation.NURSE_SEDATION: "Sedation",
    Sedation.FEED_AND_WRAP: "Feed and wrap",
    Sedation.CHILD_LIFE_AWAKE: "Play specialist",
}


def badge(sedation: str) -> str:
    return BADGES.get(sedation, "")


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """One content line, folded to lines of at most 75 octets (continuations start with a space)."""
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode())
        if size + width > FOLD_AT:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts) + "\r\n"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event(reservation: Reservation, *, now: datetime) -> list[str]:
    held = reservation.kind == ReservationKind.HOLD
    mark = badge(reservation.sedation)
    summary = f"{'Held: ' if held else ''}{reservation.mri_request}{f' ({mark})' if mark else ''}"
    local_busy = timezone.localtime(reservation.busy_until)
    details = [
        f"{reservation.get_kind_display()}: {reservation.mri_request}.",
        f"Sedation: {Sedation(reservation.sedation).label}.",
        f"Scanner busy until {local_busy:%H:%M} (turnaround).",
    ]
    if held and reservation.expires_at:
        details.append(f"Hold lapses at {timezone.localtime(reservation.expires_at):%H:%M} unless booked.")
    if reservation.anaesthesia_list_id:
        details.append(f"Anaesthesia list: {reservation.anaesthesia_list.name}.")
    if reservation.override_reason:
        details.append("Booked over a conflict by an admin (override).")
    lines = [
        "BEGIN:VEVENT",
        f"UID:reservation-{reservation.pk}@carepath",
        f"DTSTAMP:{stamp(now)}",
        f"DTSTART:{stamp(reservation.start)}",
        f"DTEND:{stamp(reservation.end)}",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(chr(10).join(details))}",
        f"LOCATION:{escape(str(reservation.scanner))}",
        f"STATUS:{'TENTATIVE' if held else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if mark:
        lines.append(f"CATEGORIES:{escape(mark)}")
    lines.append("END:VEVENT")
    return lines


def feed(scanner: Scanner, reservations: Iterable[Reservation], *, now: datetime | None = None) -> str:
    """The whole VCALENDAR, CRLF-terminated lines."""
    now = now or timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(str(scanner))}",
    ]
    for reservation in reservations:
        lines += event(reservation, now=now)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)
