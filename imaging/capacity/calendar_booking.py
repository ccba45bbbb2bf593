"""Booking from the calendar (docs/capacity.md, "Booking from the calendar"; docs/ui.md).

The coordinator comes to the calendar for one request (`?book=<MRI request id>`: the waiting list's
and the booking form's "Find a slot in the MRI calendar"). The calendar then shows, inside each free
time of the scanner, the start times the finder offers this request there (its sedation plan, slot
length, anaesthesia list, the child's other bookings), those after the due date marked. A start time
opens the request's booking form on the case page with that slot chosen; the coordinator checks the
guardian and the plan and books there, through the schedule transition like any booking.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from carepath.pathway import audit
from carepath.pathway.errors import DomainError
from carepath.pathway.roles import Role, has_role
from imaging import selectors
from imaging.choices import MRIState, Sedation
from imaging.models import MRIRequest

from . import agenda, finder, picker
from .models import Scanner

AWAITING = (MRIState.PROTOCOLED, MRIState.NEEDS_REBOOKING, MRIState.SCHEDULED)
BOOKERS = (Role.IMAGING_COORDINATOR,)  # who may schedule (the MRI machine's schedule transition)


@dataclass
class Booking:
    """The request being booked, its plan, and the start times offered on the scanner shown."""

    mri: MRIRequest
    sedation: str
    due: datetime | None
    transition: str  # schedule, or reschedule for a booked request
    first: finder.Slot | None = None  # its earliest slot anywhere: where the calendar opens
    times: dict = field(default_factory=dict)  # free block start → [(slot, case link)]
    problem: str = ""  # why the finder offers nothing (no slot rule for the plan)
    unable: set = field(default_factory=set)  # scanners that cannot take the plan

    @property
    def sedation_label(self) -> str:
        return Sedation(self.sedation).label

    @property
    def keep(self) -> str:
        return f"&book={self.mri.pk}"

    def takes(self, scanner: Scanner) -> bool:
        return scanner.takes(self.sedation)


def for_request(user, raw: str | None) -> Booking | None:
    """The request asked for, if this user books MRI scans; a request they may not see is a 404."""
    if not raw or not has_role(user, *BOOKERS):
        return None
    try:
        pk = int(raw)
    except ValueError:
        raise Http404("No such MRI request") from None
    mri = selectors.mri_requests_visible_to(user).filter(pk=pk).first()
    if mri is None:
        raise Http404("No such MRI request")
    if mri.state not in AWAITING:
        return None
    audit.record_view(user, mri, "calendar booking")
    sedation = picker.sedation_for(mri)
    transition = "reschedule" if mri.state == MRIState.SCHEDULED else "schedule"
    booking = Booking(mri=mri, sedation=sedation, due=finder.scan_due_at(mri), transition=transition)
    try:
        found = finder.find_slots(mri, sedation=sedation, limit=1)
    except DomainError as exc:
        booking.problem = exc.detail
        return booking
    booking.first = found[0] if found else None
    return booking


def start_for(booking: Booking | None, scanners: list[Scanner], chosen: str) -> tuple[Scanner | None, date | None]:
    """Without a scanner or date asked for, the calendar opens on the request's earliest slot."""
    if booking is None or booking.first is None or chosen:
        return None, None
    scanner = next((s for s in scanners if s.pk == booking.first.scanner_id), None)
    return scanner, timezone.localdate(booking.first.start)


def place_times(booking: Booking | None, scanner: Scanner, days: list[agenda.Day]) -> None:
    """The finder's start times for the request on this scanner, in the free blocks they start in."""
    if booking is None:
        return
    booking.unable = {s.pk for s in Scanner.objects.filter(active=True) if not booking.takes(s)}
    if booking.problem or not days or not booking.takes(scanner):
        return
    start, end = agenda.span(scanner, days[0].date, days[-1].date)
    slots = finder.find_slots(
        booking.mri, sedation=booking.sedation, start=start, end=end, scanner=scanner, limit=finder.MAX_LIMIT
    )
    case = reverse("case", args=[booking.mri.referral_id])
    anchor = f"#action-mri-{booking.mri.pk}-{booking.transition.replace('_', '-')}"
    free = [b for d in days for b in d.blocks if b.kind == agenda.FREE]
    for slot in slots:
        block = next((b for b in free if b.start <= slot.start < b.end), None)
        if block is not None:
            link = f"{case}?{urlencode({'slot': picker.encode(slot)})}{anchor}"
            booking.times.setdefault(block.start, []).append((slot, link))
    for block in free:
        block.times = booking.times.get(block.start, [])
