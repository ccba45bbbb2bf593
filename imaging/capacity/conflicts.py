"""What is in the way of a time on a scanner (docs/capacity.md, "Booking"): the live reservations
that overlap it per scanner (scan plus turnaround), per anaesthesia list and per child, and the 409
that names them in words, a scanner's or a list's other booking by its time only, never the child."""

from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from carepath.pathway.errors import DomainError

from . import calendar
from .models import Reservation, ReservationKind, Scanner

HOLD = ReservationKind.HOLD


class SlotTaken(DomainError):
    """Something live overlaps the time asked for: 409, the detail naming each thing in the way
    (a scanner's or a list's other booking by its time only, never by the child)."""

    status = 409
    title = "This time is taken"

    def __init__(self, conflicts: list[str], found: list[dict] | None = None):
        super().__init__(" ".join(conflicts) + " Choose another time.")
        self.conflicts = found or []

    @property
    def extra(self) -> dict:
        return {"conflicts": self.conflicts}


def span(scanner: Scanner, start: datetime, until: datetime, *, day: bool = False) -> str:
    here = calendar.zone(scanner.site.time_zone or settings.TIME_ZONE)
    a, b = timezone.localtime(start, here), timezone.localtime(until, here)
    words = f"{a:%H:%M}–{b:%H:%M}"
    return f"{words} on {a:%a} {a.day} {a:%b %Y}" if day else words


def overlapping(slot, anaesthesia_lists, patient_id: int) -> Q:
    """Overlaps the slot on its scanner (with turnaround), on one of these lists, or for this child."""
    resource = Q(scanner=slot.scanner)
    if anaesthesia_lists:
        resource |= Q(anaesthesia_list__in=anaesthesia_lists)
    since = slot.start - calendar.MAX_RESERVATION  # reads the (scanner, start) and (patient, start) indexes
    busy = resource & Q(start__gte=since, start__lt=slot.busy_until, busy_until__gt=slot.start)
    return busy | Q(patient_id=patient_id, start__gte=since, start__lt=slot.end, end__gt=slot.start)


def in_the_way(slot, anaesthesia_list, mri, now: datetime) -> list[Reservation]:
    """Live reservations overlapping the slot; the request's own holds never block it."""
    others = Reservation.objects.filter(calendar.live(now)).exclude(mri_request=mri, kind=HOLD)
    lists = [anaesthesia_list] if anaesthesia_list is not None else []
    query = others.filter(overlapping(slot, lists, mri.referral.patient_id))
    return list(query.select_related("scanner__site", "anaesthesia_list").order_by("start", "pk"))


def _words(slot, anaesthesia_list, mri, row: Reservation) -> str:
    how = "held" if row.kind == HOLD else "booked"
    taken = span(row.scanner, row.start, row.busy_until)
    if row.mri_request_id == mri.pk:
        return f"This request's current appointment takes {row.scanner} {taken}."
    if row.patient_id == mri.referral.patient_id and row.start < slot.end and row.end > slot.start:
        return f"This child is already {how} on {row.scanner} {span(row.scanner, row.start, row.end)}."
    if row.scanner_id == slot.scanner.pk:
        return f"{row.scanner} is {how} {taken}."
    return f"The anaesthesia list {anaesthesia_list.name} has another child {how} {taken}."


def described(slot, anaesthesia_list, mri, rows: list[Reservation]) -> tuple[list[str], list]:
    words = list(dict.fromkeys(_words(slot, anaesthesia_list, mri, r) for r in rows))
    found = [
        {"scanner": r.scanner_id, "anaesthesia_list": r.anaesthesia_list_id, "kind": r.kind, "start": r.start}
        | {"busy_until": r.busy_until, "same_child": r.patient_id == mri.referral.patient_id}
        for r in rows
    ]
    return words, found
