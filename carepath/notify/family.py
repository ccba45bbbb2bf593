"""Family reminders for an MRI appointment (docs/design.md §4) and the missed-appointment check.

Booking an appointment (imaging `_book`, inside the schedule/reschedule transaction) writes:
- `t7` and `t1`: reminders 7 days and 1 day before; with sedation or anaesthesia `t1` also gives the
  fasting cut-offs as clock times in the family's time zone (the day before);
- `morning`: with fasting, early on the day (`FAMILY_MORNING_REMINDER_HOUR`, or half an hour before
  clear fluids stop if that is earlier) with the same cut-offs;
- `flag_missed`: at the appointment's end plus `MRI_MISSED_GRACE_MINUTES`.
Ending the appointment (attended, rescheduled, cancelled, …) cancels its pending timers. A reminder
to a guardian without a usable contact opens one GUARDIAN_CONTACT_MISSING work item for the
imaging coordinators instead of failing (and never loops).
"""

from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from carepath.db import bulk
from carepath.models import CaseEvent, Channel, Delivery, Machine, Timer, TimerKind, TimerState, WorkItem, WorkItemKind
from carepath.notify import notifications
from carepath.notify.message_templates import render_text
from carepath.pathway.roles import Role
from carepath.pathway.text import single_line
from carepath.timers.scheduling import mark

BOOKED = "booked"
# The week-ahead reminder is dropped once the day-before one is nearly due (the sweep was down).
WEEK_AHEAD_STALE_BEFORE = timedelta(days=2)
FASTING_FIELDS = ("solids_until", "milk_until", "clear_fluids_until")


def _zone(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone or settings.TIME_ZONE)


def reminder_times(appointment, time_zone: str = "") -> dict[str, datetime]:
    """which → when (UTC), before filtering out the ones already past."""
    start = appointment.start
    times = {"t7": start - timedelta(days=7), "t1": start - timedelta(days=1)}
    if appointment.clear_fluids_until:
        day = timezone.localtime(start, _zone(time_zone)).date()
        morning = datetime.combine(day, time(settings.FAMILY_MORNING_REMINDER_HOUR), tzinfo=_zone(time_zone))
        times["morning"] = min(morning, appointment.clear_fluids_until - timedelta(minutes=30))
    return times


def schedule_for_appointment(appointment, *, referral_id: int, time_zone: str = "") -> list[Timer]:
    now = timezone.now()
    rows = [
        Timer(
            key=f"appt{appointment.pk}:family:{which}",
            kind=TimerKind.FAMILY_REMINDER,
            due_at=at,
            referral_id=referral_id,
            appointment=appointment,
            data={"which": which},
            created_at=now,
        )
        for which, at in reminder_times(appointment, time_zone).items()
        if now < at < appointment.start
    ]
    missed_at = appointment.end + timedelta(minutes=settings.MRI_MISSED_GRACE_MINUTES)
    rows.append(
        Timer(
            key=f"appt{appointment.pk}:flag_missed",
            kind=TimerKind.FLAG_MISSED,
            due_at=missed_at,
            referral_id=referral_id,
            appointment=appointment,
            created_at=now,
        )
    )
    return Timer.objects.bulk_create(rows)


def cancel_for_appointment(appointment_id: int) -> int:
    return Timer.objects.filter(appointment_id=appointment_id, state=TimerState.PENDING).update(
        state=TimerState.CANCELLED, cancelled_at=timezone.now()
    )


# --- firing -------------------------------------------------------------------------------------
def fire(timers: list[Timer], *, now: datetime, system) -> list[Delivery]:
    """A batch of family reminders: one insert for the events, one update per outcome; returns the
    deliveries, unsaved (the caller writes them)."""
    outcomes: dict[tuple[str, str], list[Timer]] = defaultdict(list)
    events, rows = [], []
    for timer in timers:
        moot = _moot(timer, now)
        if moot:
            outcomes[(TimerState.CANCELLED, moot)].append(timer)
            continue
        guardian = timer.appointment.guardian
        if guardian is None or not guardian.has_contact:
            _contact_missing(timer, now=now, system=system)  # rare: opens a work item, one at a time
            outcomes[(TimerState.DONE, "no guardian contact: coordinator asked to add one")].append(timer)
            continue
        event, deliveries = _reminder(timer, guardian, now=now, system=system)
        events.append(event)
        rows += deliveries
        outcomes[(TimerState.DONE, "")].append(timer)
    bulk.insert(events)
    for (state, error), group in outcomes.items():
        mark(group, state, now, error=error)
    return rows


def _moot(timer: Timer, now: datetime) -> str:
    """Why this reminder should not go out after all ("" when it should)."""
    appointment = timer.appointment
    if appointment is None or appointment.status != BOOKED or appointment.start <= now:
        return "appointment no longer booked"
    if timer.data.get("which") == "t7" and now >= appointment.start - WEEK_AHEAD_STALE_BEFORE:
        return "too late to be useful"
    return ""


def fasting_times(appointment, time_zone: str) -> dict[str, str]:
    return {
        f: f"{timezone.localtime(getattr(appointment, f), _zone(time_zone)):%H:%M}"
        for f in FASTING_FIELDS
        if getattr(appointment, f)
    }


def message(timer: Timer) -> tuple[str, str]:
    appointment, patient = timer.appointment, timer.referral.patient
    fixed = {
        "which": timer.data.get("which"),
        "sedation": appointment.get_sedation_display(),
        "time_zone": patient.time_zone or settings.TIME_ZONE,
    }
    varying = {
        # one line each, whatever is stored: the first line of the text is the subject (carepath/pathway/text.py)
        "child": single_line(patient.given_name),
        "location": single_line(appointment.location),
        "start": notifications.local(appointment.start, patient.time_zone),
        "fasting": fasting_times(appointment, patient.time_zone),
    }
    # The template's date filters print in the active time zone: the family's, like the fasting times.
    with timezone.override(_zone(patient.time_zone)):
        text = render_text("email/family_reminder.txt", fixed=fixed, varying=varying)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()


def channels(guardian) -> list[tuple[str, str]]:
    wanted = {"sms": [Channel.SMS], "email": [Channel.EMAIL], "both": [Channel.SMS, Channel.EMAIL]}
    address = {Channel.SMS: guardian.phone, Channel.EMAIL: guardian.email}
    chosen = [(c, address[c]) for c in wanted.get(guardian.contact_preference, []) if address[c]]
    return chosen or [(c, a) for c, a in address.items() if a]  # the preferred channel has no address: use any


def _reminder(timer: Timer, guardian, *, now: datetime, system) -> tuple[CaseEvent, list[Delivery]]:
    subject, body = message(timer)
    via = channels(guardian)
    rows = [
        Delivery(
            dedupe_key=f"timer:{timer.pk}:{channel}",
            channel=channel,
            to=to,
            subject=subject,
            body=body,
            referral_id=timer.referral_id,
            guardian=guardian,
            created_at=now,
            next_attempt_at=now + timedelta(seconds=settings.CAREPATH_DELIVERY_LEASE_SECONDS),
        )
        for channel, to in via
    ]
    appointment = timer.appointment
    data = {
        "to": "family",
        "which": timer.data.get("which"),
        "guardian": guardian.pk,
        "channels": [c for c, _ in via],
        "appointment": appointment.pk,
        "fasting": fasting_times(appointment, timer.referral.patient.time_zone),
        "timer": timer.pk,
    }
    return _event(timer, CaseEvent.Kind.REMINDER, data, now=now, system=system), rows


def _event(timer: Timer, kind: str, data: dict, *, now: datetime, system) -> CaseEvent:
    """The case's timeline entry for a family reminder, sent (a reminder) or not (a note); unsaved."""
    return CaseEvent(
        referral_id=timer.referral_id,
        mri_request_id=timer.appointment.mri_request_id,
        machine=Machine.MRI,
        kind=kind,
        transition="family_reminder",
        actor=system,
        at=now,
        data=data,
    )


def _contact_missing(timer: Timer, *, now: datetime, system) -> None:
    from carepath.pathway import workitems

    appointment = timer.appointment
    data = {
        "not_sent": "no guardian contact",
        "which": timer.data.get("which"),
        "appointment": appointment.pk,
        "timer": timer.pk,
    }
    _event(timer, CaseEvent.Kind.NOTE, data, now=now, system=system).save(force_insert=True)
    already = WorkItem.objects.filter(
        mri_request_id=appointment.mri_request_id, status="open", kind=WorkItemKind.GUARDIAN_CONTACT_MISSING
    ).exists()
    if not already:
        workitems.open_item(
            referral_id=timer.referral_id,
            mri_request_id=appointment.mri_request_id,
            machine=Machine.MRI,
            kind=WorkItemKind.GUARDIAN_CONTACT_MISSING,
            queue=Role.IMAGING_COORDINATOR,
            priority=appointment.mri_request.priority,
            is_primary=False,
            note=_missing_note(appointment),
        )


def _missing_note(appointment) -> str:
    when = f"{notifications.local(appointment.start):%d %b %Y %H:%M}"
    return f"No phone or e-mail for the family: reminders for the MRI on {when} cannot be sent."
