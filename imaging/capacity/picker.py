"""Booking by picking a slot on the pages (docs/ui.md, "Booking an MRI slot"; docs/capacity.md).

The schedule and reschedule forms are drawn from their input serializers (carepath/web/formfields.py),
which take `scanner`, `scheduled_start` and `hold` as the API does. On a page those are one choice,
`slot`, among the finder's earliest free slots: `offer` swaps the fields for that choice (and moves
their errors onto it), `translate` turns a posted `slot` back into `scanner` and `scheduled_start`
before the form goes to the transition, so the page books through the same service as the API.
Where no scanner is set up the forms keep the typed date and location, and lose the raw ids.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from carepath.pathway.errors import DomainError
from carepath.pathway.roles import is_admin
from carepath.web.formfields import FieldSpec
from imaging.choices import MRIState, Sedation
from imaging.models import MRIRequest
from imaging.rules import BOOKING_HORIZON, mass_suspected, sedation_default

from . import calendar, finder
from .models import Scanner

BOOKING = ("schedule", "reschedule")
SLOT_FIELDS = ("scanner", "scheduled_start", "hold")
OFFERED = 8  # slots offered in a form; "later slots" asks from another date
REQUIRED = "This field is required."


@dataclass(frozen=True)
class Choice:
    """One offered slot, as the form draws it."""

    value: str  # "<scanner id>@<start, ISO 8601>"
    slot: finder.Slot

    @property
    def ga(self) -> bool:
        return self.slot.sedation == Sedation.GENERAL_ANAESTHESIA

    @property
    def sedation_label(self) -> str:
        return Sedation(self.slot.sedation).label


def encode(slot: finder.Slot) -> str:
    return f"{slot.scanner_id}@{slot.start.isoformat()}"


def decode(value: str) -> tuple[int, datetime] | None:
    scanner, _, start = (value or "").partition("@")
    try:
        moment = datetime.fromisoformat(start)
        pk = int(scanner)
    except ValueError:
        return None
    if pk < 1 or moment.tzinfo is None:
        return None
    return pk, moment


def translate(post: QueryDict) -> QueryDict:
    """A posted `slot` as the transition's `scanner` and `scheduled_start` (an unreadable one as
    neither: the form then asks for a slot)."""
    if post.get("transition") not in BOOKING or "slot" not in post:
        return post
    data = post.copy()
    for name in SLOT_FIELDS:
        data.pop(name, None)
    chosen = decode(post.get("slot", ""))
    if chosen is not None:
        data["scanner"], data["scheduled_start"] = str(chosen[0]), chosen[1].isoformat()
    return data


def scanners_set_up() -> bool:
    return Scanner.objects.filter(active=True).exists()


def sedation_for(mri, form=None, wanted: str = "") -> str:
    """The plan the slots are for: the one asked for (the page's "show slots for"), the form's choice,
    the booking's being moved, or the child's default today."""
    if wanted in Sedation.values:
        return wanted
    field = next((f for f in form.fields if f.name == "sedation"), None) if form is not None else None
    if field is not None and field.value in Sedation.values:
        return field.value
    if mri.state == MRIState.SCHEDULED and mri.appointment_id:
        return mri.appointment.sedation
    patient = mri.referral.patient
    return sedation_default(birth_date=patient.birth_date, on=timezone.localdate(), mass_suspected=mass_suspected(mri))


def _from_day(day: date | None) -> datetime | None:
    if day is None:
        return None
    return calendar.at(day, time.min, calendar.zone(timezone.get_current_timezone_name()))


def choices(mri, sedation: str, *, start: date | None = None, chosen: str = "") -> tuple[list[Choice], str]:
    """The earliest slots from `start` (default now), with the `chosen` one first if it is still free
    but not among them; and, when the finder cannot offer any, why."""
    try:
        found = _spread(finder.find_slots(mri, sedation=sedation, start=_from_day(start), limit=OFFERED * 6))
        picked = decode(chosen)
        if picked and not any(encode(s) == chosen for s in found):
            found = _still_free(mri, sedation, *picked) + found
    except DomainError as exc:  # no slot rule for the plan
        return [], exc.detail
    return [Choice(encode(s), s) for s in found], ""


def _spread(slots: list[finder.Slot]) -> list[finder.Slot]:
    """The first OFFERED slots that do not overlap an earlier one on the same scanner: 08:00, 09:30,
    11:00 rather than 08:00, 08:15, 08:30 (the calendar offers every start time)."""
    chosen, free_from = [], {}
    for slot in slots:
        if slot.start >= free_from.get(slot.scanner_id, slot.start):
            chosen.append(slot)
            free_from[slot.scanner_id] = slot.busy_until
    return chosen[:OFFERED]


def _still_free(mri, sedation: str, scanner: int, at: datetime) -> list[finder.Slot]:
    """The slot at `at` on `scanner` if the finder would offer it (the calendar's pick, a later one)."""
    return finder.find_slots(mri, sedation=sedation, start=at, end=at + timedelta(minutes=1), scanner=scanner, limit=1)


def offer(forms, mri, user, *, load: bool, asked: "Asked | None" = None, links=None, setup: bool | None = None):
    """Swap the booking forms' scanner, start and hold for a choice of slots (`load`: find them now;
    otherwise the form links to the page that does). `links(mri)` gives the page's own addresses:
    `url` and `hidden` (its "later slots" form), `load` (the page with this form's slots found)."""
    setup = scanners_set_up() if setup is None else setup
    asked = asked or Asked()
    for form in forms:
        if form.name not in BOOKING or form.object_id != mri.pk:
            continue
        if not is_admin(user):  # only an administrator may book over a conflict (else a 403 page)
            form.fields = [f for f in form.fields if f.name != "override_reason"]
        if not setup:  # typed date and location, as before scanners existed; no raw ids
            form.fields = [f for f in form.fields if f.name not in ("scanner", "hold", "override_reason")]
            continue
        _swap_fields(form, mri, load=load, start=asked.start, chosen=asked.slot, sedation=asked.sedation, links=links)


@dataclass(frozen=True)
class Asked:
    """What the page's address asks of the booking form: slots from a day, for a plan, one preselected
    (the calendar's "Book")."""

    start: date | None = None
    sedation: str = ""
    slot: str = ""

    @classmethod
    def from_query(cls, query) -> "Asked":
        try:
            start = date.fromisoformat(query.get("slots_from", ""))
        except ValueError:
            start = None
        if start is not None and not timezone.localdate() <= start <= timezone.localdate() + BOOKING_HORIZON:
            start = None  # the finder looks from now to the booking horizon (and 9999-12-31 overflows)
        sedation = query.get("slots_sedation", "")
        slot = query.get("slot", "")
        return cls(start, sedation if sedation in Sedation.values else "", slot if decode(slot) else "")


def _swap_fields(form, mri, *, load, start, chosen, sedation, links) -> None:
    errors = [REQUIRED_SLOT if m == REQUIRED else m for f in form.fields if f.name in SLOT_FIELDS for m in f.errors]
    chosen = chosen or _posted(form)
    at = next((i for i, f in enumerate(form.fields) if f.name == "scheduled_start"), 0)
    form.fields = [f for f in form.fields if f.name not in (*SLOT_FIELDS, "location")]
    plan = sedation_for(mri, form, sedation)
    spec = FieldSpec(name="slot", label="Slot", widget="slots", required=True, value=chosen, errors=errors)
    spec.attrs = {"loaded": load, "sedation": Sedation(plan).label}
    if load:
        spec.attrs["choices"], spec.attrs["none"] = choices(mri, plan, start=start, chosen=chosen)
    form.fields.insert(at, spec)
    form.picker = {
        "from": start or timezone.localdate(),
        "sedation": plan,
        "sedations": Sedation.choices,
        "calendar": reverse("mri_calendar") + f"?book={mri.pk}",
        **(links(mri) if links else {}),
    }
    spec.attrs["load_url"] = f"{form.picker.get('load', '')}#{form.dom_id}"
    form.is_open = form.is_open or bool(load and (chosen or start or sedation))


REQUIRED_SLOT = "Choose a slot."


def _posted(form) -> str:
    values = {f.name: f.value for f in form.fields}
    scanner, start = values.get("scanner", ""), values.get("scheduled_start", "")
    if not scanner or not start:
        return ""
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        return ""
    return f"{scanner}@{moment.isoformat()}" if moment.tzinfo else ""


def booked_words(mri_id: int, transition: str) -> str:
    """After a booking, what the page's message says: when and where ("" for any other action)."""
    if transition not in BOOKING:
        return ""
    mri = MRIRequest.objects.select_related("appointment").get(pk=mri_id)
    if mri.appointment is None:
        return ""
    start = timezone.localtime(mri.appointment.start)
    return f"{mri} booked {start:%a %-d %b %Y %H:%M}, {mri.appointment.location}."
