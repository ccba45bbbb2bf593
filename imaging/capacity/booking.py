"""Taking and freeing MRI capacity (docs/capacity.md, "Booking").

- `hold`: a HOLD reservation for one request, lapsing after `CAREPATH_SLOT_HOLD_MINUTES`; a timer of
  kind `release_hold` releases it then (`release_lapsed_hold`, registered in imaging's ready()), and
  a lapsed hold never blocks anyone even before that timer has run. `release_hold` frees it at once.
- `book`: the reservation of the `schedule` and `reschedule` transitions, inside their transaction:
  the scanner takes the sedation plan, the scan lies in an open session (a GA scan in an
  anaesthesia list, which it chooses), nothing live overlaps it (per scanner with turnaround, per
  anaesthesia list, per child); the request's own hold is converted. A conflict is a 409 naming what
  is in the way, never another child; on PostgreSQL the exclusion constraints refuse what a
  concurrent booking slipped past the check, and that refusal becomes the same 409.
- `release_for_appointment`: an ended appointment frees its time if it has not started yet.
- An admin may book over a conflict with a reason: the row then stands outside the constraints.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from carepath.models import AuditLog, Timer, TimerKind, TimerState
from carepath.pathway import audit
from carepath.pathway.errors import Forbidden, InvalidData, RuleBroken, TransitionNotAllowed
from carepath.pathway.roles import is_admin
from imaging.choices import MRIState, Sedation
from imaging.guards import default_sedation
from imaging.machine import MRI_MACHINE
from imaging.models import MRIRequest
from imaging.rules import check_booking

from . import calendar, conflicts, finder
from .models import AnaesthesiaList, Reservation, ReservationKind, Scanner

HOLD, BOOKING = ReservationKind.HOLD, ReservationKind.BOOKING
LAPSED = "hold lapsed"
EXCLUSIONS = ("no_double_booked_scanner", "no_double_booked_anaesthesia_list", "no_double_booked_child")
DEADLOCK, DEADLOCK_ATTEMPTS = "40P01", 5  # PostgreSQL's deadlock_detected; tries of one insert


@dataclass(frozen=True)
class Slot:
    """A time asked for on a scanner, checked against its sessions and lists; not yet taken."""

    scanner: Scanner
    sedation: str
    start: datetime
    end: datetime
    busy_until: datetime
    anaesthesia_lists: tuple[AnaesthesiaList, ...] = ()

    @property
    def location(self) -> str:
        return str(self.scanner)  # "Site — Scanner"


# --- what a time must satisfy (400 / 422) ---------------------------------------------------------
def plan(mri: MRIRequest, *, scanner: int, start: datetime, sedation: str) -> Slot:
    """The slot for this request at `start` on `scanner`, or a 400/422 naming the field."""
    chosen = Scanner.objects.select_related("site").filter(pk=scanner, active=True).first()
    if chosen is None:
        raise InvalidData({"scanner": "There is no active scanner with this id."})
    if not chosen.takes(sedation):
        raise RuleBroken({"scanner": f"{chosen} cannot take a child under {Sedation(sedation).label.lower()}."})
    length = finder.slot_length(mri, sedation)
    end, busy_until = start + length.scan, start + length.busy
    when = conflicts.span(chosen, start, busy_until, day=True)
    days = _days(chosen, start, busy_until)
    if not _covering(calendar.scanner_windows([chosen], *days)[chosen.pk], start, busy_until):
        raise RuleBroken({"scheduled_start": f"{chosen} has no open session for {when}."})
    lists: tuple[AnaesthesiaList, ...] = ()
    if sedation == Sedation.GENERAL_ANAESTHESIA:
        windows = calendar.anaesthesia_windows([chosen.site], *days)[chosen.site_id]
        ids = list(dict.fromkeys(w.owner_id for w in _covering(windows, start, busy_until)))
        found = AnaesthesiaList.objects.in_bulk(ids)
        lists = tuple(found[i] for i in ids)
        if not lists:
            raise RuleBroken(
                {
                    "scheduled_start": "General anaesthesia needs an anaesthesia list: none at "
                    f"{chosen.site} covers {when}."
                }
            )
    return Slot(chosen, sedation, start, end, busy_until, lists)


def _days(scanner: Scanner, start: datetime, until: datetime) -> tuple[date, date]:
    here = calendar.zone(scanner.site.time_zone)
    return timezone.localtime(start, here).date(), timezone.localtime(until, here).date()


def _covering(windows, start: datetime, until: datetime) -> list:
    """The open windows the whole of start..until lies in (a scan never straddles two sessions)."""
    return [w for w in windows if w.start <= start and until <= w.end]


def _choose_list(slot: Slot, mri: MRIRequest, now: datetime) -> tuple[AnaesthesiaList | None, list[Reservation]]:
    """A GA scan goes on the first covering anaesthesia list with nothing in the way."""
    if not slot.anaesthesia_lists:
        return None, conflicts.in_the_way(slot, None, mri, now)
    tried = [(lst, conflicts.in_the_way(slot, lst, mri, now)) for lst in slot.anaesthesia_lists]
    return next(((lst, rows) for lst, rows in tried if not rows), tried[0])


# --- holds ------------------------------------------------------------------------------------------
def _lock(mri_request_id: int) -> MRIRequest:
    return MRIRequest.objects.select_for_update(of=("self",)).select_related("referral").get(pk=mri_request_id)


def _may_book(mri: MRIRequest, actor) -> None:
    """Holding is the first half of (re)booking: the same roles, in the same states."""
    name = "reschedule" if mri.state == MRIState.SCHEDULED else "schedule"
    transition = MRI_MACHINE.get(name)
    if not MRI_MACHINE.may_perform(transition, mri, actor):
        raise Forbidden("Your role may not hold or book MRI slots.")
    if mri.state not in transition.sources:
        raise TransitionNotAllowed(f"A slot can be held only for a request waiting to be booked, not {mri.state}.")


@transaction.atomic
def hold(*, mri_request_id: int, actor, scanner: int, scheduled_start: datetime, sedation: str = "") -> Reservation:
    """Hold a slot for this request (it replaces the request's earlier hold)."""
    mri = _lock(mri_request_id)
    _may_book(mri, actor)
    now = timezone.now()
    check_booking(scheduled_start, now=now)
    if not sedation:
        current = mri.appointment if mri.state == MRIState.SCHEDULED else None
        sedation = current.sedation if current else default_sedation(mri, {"scheduled_start": scheduled_start})
    slot = plan(mri, scanner=scanner, start=scheduled_start, sedation=sedation)
    _serialise(slot)
    _release(_own_holds(mri), now, "replaced by a new hold")
    _release_lapsed(slot, mri, now)
    anaesthesia_list, rows = _choose_list(slot, mri, now)
    if rows:
        raise conflicts.SlotTaken(*conflicts.described(slot, anaesthesia_list, mri, rows))
    expires = now + timedelta(minutes=settings.CAREPATH_SLOT_HOLD_MINUTES)
    row = _reservation(slot, anaesthesia_list, mri, actor=actor, now=now, kind=HOLD, expires_at=expires)
    _insert(row, slot, anaesthesia_list, mri, now)
    Timer.objects.create(
        key=f"hold{row.pk}:release",
        kind=TimerKind.RELEASE_HOLD,
        due_at=expires,
        referral_id=mri.referral_id,
        data={"reservation": row.pk},
        created_at=now,
    )
    audit.record(actor, AuditLog.Action.CREATE, row, _audit_data(row))
    return row


@transaction.atomic
def release_hold(*, reservation_id: int, actor, mri_request_id: int) -> Reservation:
    """Give a held slot back before it lapses (a released or lapsed hold is returned as it is)."""
    mri = _lock(mri_request_id)
    if not MRI_MACHINE.may_perform(MRI_MACHINE.get("schedule"), mri, actor):
        raise Forbidden("Your role may not hold or book MRI slots.")
    held = Reservation.objects.select_for_update().filter(pk=reservation_id, mri_request=mri).first()
    if held is None:
        raise InvalidData({"hold": "There is no hold with this id on this request."})
    if held.kind == BOOKING:
        raise TransitionNotAllowed("This slot is booked now: reschedule or cancel the appointment instead.")
    if held.released_at is None:
        _release([held], timezone.now(), "released by " + actor.get_username())
        audit.record(actor, AuditLog.Action.UPDATE, held, {"released": True})
        held.refresh_from_db()
    return held


def release_lapsed_hold(timer, actor, now) -> None:
    """Timer handler (registered in imaging's ready()): idempotent, a converted or released hold
    is left alone."""
    Reservation.objects.filter(
        pk=timer.data["reservation"], kind=HOLD, released_at__isnull=True, expires_at__lte=now
    ).update(released_at=now, release_reason=LAPSED)


def _own_holds(mri: MRIRequest) -> list[Reservation]:
    return list(Reservation.objects.select_for_update().filter(mri_request=mri, kind=HOLD, released_at__isnull=True))


def _release(rows: list[Reservation], now: datetime, reason: str) -> None:
    if not rows:
        return
    ids = [r.pk for r in rows]
    Reservation.objects.filter(pk__in=ids, released_at__isnull=True).update(released_at=now, release_reason=reason)
    _cancel_hold_timers(ids, now)


def _cancel_hold_timers(ids: list[int], now: datetime) -> None:
    keys = [f"hold{pk}:release" for pk in ids]
    Timer.objects.filter(key__in=keys, state=TimerState.PENDING).update(state=TimerState.CANCELLED, cancelled_at=now)


def _release_lapsed(slot: Slot, mri: MRIRequest, now: datetime) -> None:
    """Lapsed holds in the slot's way are released now (the constraints still count them until then)."""
    lapsed = Reservation.objects.filter(kind=HOLD, released_at__isnull=True, expires_at__lte=now)
    query = conflicts.overlapping(slot, slot.anaesthesia_lists, mri.referral.patient_id)
    _release(list(lapsed.filter(query).only("pk")), now, LAPSED)


# --- booking (inside the schedule / reschedule transition) ---------------------------------------
def slot_for(mri: MRIRequest, *, scanner: int | None, location: str, start: datetime, sedation: str) -> Slot | None:
    """The scanner's slot, or None for a typed location, accepted only where no scanner is set up."""
    if scanner is None:
        if Scanner.objects.filter(active=True).exists():
            raise InvalidData({"scanner": "Choose the scanner: the place and the time the scan takes come from it."})
        if not location.strip():
            raise InvalidData({"location": "Say where the scan is."})
        return None
    if location.strip():
        raise InvalidData({"location": "The place comes from the scanner: leave the location out."})
    return plan(mri, scanner=scanner, start=start, sedation=sedation)


def take(mri: MRIRequest, slot: Slot | None, *, actor, appointment, hold: int | None, override_reason: str) -> dict:
    """`book`, for the transition: what its timeline event records."""
    if slot is None:
        if hold is not None or override_reason.strip():
            raise InvalidData({"scanner": "A hold or an override books a scanner: choose the scanner."})
        return {}
    row, overridden = book(mri, slot, actor=actor, appointment=appointment, hold=hold, override_reason=override_reason)
    data = {"scanner": slot.scanner.pk, "anaesthesia_list": row.anaesthesia_list_id, "reservation": row.pk}
    return data | ({"override_reason": row.override_reason, "overridden": overridden} if overridden else {})


def book(mri: MRIRequest, slot: Slot, *, actor, appointment, hold: int | None = None, override_reason: str = ""):
    """Take the slot for `appointment` (already written by the transition, which rolls back on any
    refusal here). Returns (the reservation, what an admin's override booked over, in words)."""
    override_reason = override_reason.strip()
    if override_reason and not is_admin(actor):
        raise Forbidden("Only an administrator may book over a conflict.")
    if hold is not None and not Reservation.objects.filter(pk=hold, mri_request=mri, kind=HOLD).exists():
        raise InvalidData({"hold": "This is not a hold of this request."})
    now = timezone.now()
    _serialise(slot)
    _release_lapsed(slot, mri, now)
    anaesthesia_list, rows = _choose_list(slot, mri, now)
    overridden: list[str] = []
    if rows:
        words, found = conflicts.described(slot, anaesthesia_list, mri, rows)
        if not override_reason:
            raise conflicts.SlotTaken(words, found)
        overridden = words
    own = _own_holds(mri)
    same = next((h for h in own if _matches(h, slot, now)), None)
    _release([h for h in own if h is not same], now, "the request was booked elsewhere")
    fields = {
        "kind": BOOKING,
        "appointment": appointment,
        "expires_at": None,
        "override_reason": override_reason if overridden else "",
    }
    if same is not None:
        row = same
        for name, value in (fields | _times(slot, anaesthesia_list)).items():
            setattr(row, name, value)
        _cancel_hold_timers([row.pk], now)
    else:
        row = _reservation(slot, anaesthesia_list, mri, actor=actor, now=now, **fields)
    _insert(row, slot, anaesthesia_list, mri, now)
    audit.record(actor, AuditLog.Action.CREATE if same is None else AuditLog.Action.UPDATE, row, _audit_data(row))
    return row, overridden


def _serialise(slot: Slot) -> None:
    """Lock the scanner's row, then the anaesthesia lists' (in id order) until the transaction ends:
    bookings and holds of one scanner or list take turns, so the check that follows sees every
    committed one and names it. Without this, GA bookings racing on two scanners that share a list
    deadlocked inside the exclusion constraint's check (bench/booking.py: 15 of 50 were 500s)."""
    list(Scanner.objects.select_for_update().filter(pk=slot.scanner.pk).values_list("pk"))
    if slot.anaesthesia_lists:
        ids = sorted(lst.pk for lst in slot.anaesthesia_lists)
        list(AnaesthesiaList.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _matches(held: Reservation, slot: Slot, now: datetime) -> bool:
    return held.scanner_id == slot.scanner.pk and held.start == slot.start and held.expires_at > now


def _times(slot: Slot, anaesthesia_list) -> dict:
    return {
        "scanner": slot.scanner,
        "sedation": slot.sedation,
        "start": slot.start,
        "end": slot.end,
        "busy_until": slot.busy_until,
        "anaesthesia_list": anaesthesia_list,
    }


def _reservation(slot: Slot, anaesthesia_list, mri: MRIRequest, *, actor, now: datetime, **fields) -> Reservation:
    return Reservation(
        mri_request=mri,
        patient_id=mri.referral.patient_id,
        created_by=actor,
        created_at=now,
        **_times(slot, anaesthesia_list),
        **fields,
    )


def _insert(row: Reservation, slot: Slot, anaesthesia_list, mri: MRIRequest, now: datetime) -> None:
    """Save in a savepoint: an exclusion constraint's refusal (a concurrent booking committed first)
    becomes the same 409 as the check's, naming what is now in the way.

    Two inserts whose rows conflict wait for each other inside the constraints' check, and
    PostgreSQL aborts one with a deadlock (`_serialise` keeps that from happening on a scanner or a
    list; two requests of the same child on two scanners at once still could): rolled back to its
    savepoint, that one tries again, now waits for the other to commit, and gets the refusal."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                row.save()
            return
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
            if constraint not in EXCLUSIONS:
                raise
            break
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", "") != DEADLOCK or attempt == DEADLOCK_ATTEMPTS:
                raise
    rows = conflicts.in_the_way(slot, anaesthesia_list, mri, timezone.now())
    words = (
        conflicts.described(slot, anaesthesia_list, mri, rows) if rows else (["Someone booked this time just now."], [])
    )
    raise conflicts.SlotTaken(*words)


def _audit_data(row: Reservation) -> dict:
    return {
        "kind": row.kind,
        "scanner": row.scanner_id,
        "anaesthesia_list": row.anaesthesia_list_id,
        "start": row.start,
        "busy_until": row.busy_until,
        "override_reason": row.override_reason,
    }


# --- freeing ---------------------------------------------------------------------------------------
def release_for_appointment(appointment, *, reason: str, now: datetime | None = None) -> int:
    """An ended appointment frees its reservation if its time has not started (a started or past
    time stays taken: it is what happened). The row stays, with `released_at` and the reason."""
    now = now or timezone.now()
    rows = Reservation.objects.filter(appointment=appointment, released_at__isnull=True, start__gt=now)
    return rows.update(released_at=now, release_reason=reason)


def release_holds(mri: MRIRequest, *, reason: str) -> None:
    """The request's live holds (it was cancelled: nothing will be booked)."""
    _release(_own_holds(mri), timezone.now(), reason)


def reservation_of(appointment) -> Reservation | None:
    return Reservation.objects.filter(appointment=appointment).first() if appointment is not None else None
