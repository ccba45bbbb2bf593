"""MRI request services: the only place an MRI request's state changes (docs/design.md §3).

Each transition: lock (the referral row first, then the request: the same order as referral
services, so the two never deadlock), check state + role + guards, write, then `commit` appends
the timeline event and the audit row; work items follow the state. Announcements to `referrals`
go through `imaging.signals`. The report's transitions (sign, amend) and neurology's
acknowledgement of a serious result are in imaging/reports.py.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from carepath.db import writes
from carepath.models import AuditLog, Machine, WorkItemStatus
from carepath.notify import family, notifications
from carepath.pathway import audit, workitems
from carepath.pathway import transitions as tx
from carepath.pathway.errors import InvalidData

from . import signals
from .capacity import booking
from .choices import FASTING_SEDATION, AppointmentStatus, MRIState
from .guards import default_sedation
from .machine import MRI_MACHINE, STEPS
from .models import Appointment, MRIRequest


# --- rules (the sedation default and the transitions' guards are in imaging/rules.py, imaging/guards.py)
def fasting_cutoffs(start: datetime, sedation: str) -> dict:
    """Clock times after which the child may not eat solids, drink milk, or drink clear fluids."""
    if sedation not in FASTING_SEDATION:
        return {"solids_until": None, "milk_until": None, "clear_fluids_until": None}
    hours = settings.FASTING_HOURS
    return {f"{food}_until": start - timedelta(hours=hours[food]) for food in ("solids", "milk", "clear_fluids")}


# --- locking and committing ----------------------------------------------------------------------
def _lock(mri_request_id: int) -> MRIRequest:
    referral_id = MRIRequest.objects.values_list("referral_id", flat=True).get(pk=mri_request_id)
    Referral = MRIRequest._meta.get_field("referral").related_model
    list(Referral.objects.select_for_update().filter(pk=referral_id).values_list("pk"))
    return MRIRequest.objects.select_for_update().select_related("referral__patient").get(pk=mri_request_id)


def _commit(mri: MRIRequest, name: str, *, actor, data: dict, update_fields=(), anchor=None, assigned_to=None):
    return tx.commit(
        mri,
        MRI_MACHINE.get(name),
        actor=actor,
        machine=Machine.MRI,
        referral_id=mri.referral_id,
        mri_request_id=mri.pk,
        data=data,
        update_fields=tuple(update_fields),
        steps=STEPS,
        priority=mri.priority,
        anchor=anchor or mri.requested_at,
        assigned_to=assigned_to,
        closed_status=MRI_MACHINE.get(name).closes_as,
    )


def _tell_referrer(mri: MRIRequest, event: str, **context) -> None:
    """The referrer hears of this change in its own transaction, once (the key is the request's new
    version; docs/decisions.md, "The referrer is always told")."""
    key = f"mri{mri.pk}:v{mri.version}"
    notifications.tell_referrer(mri.referral, event=event, key=key, context=context)


def _open_wnb_review(mri: MRIRequest, note: str) -> None:
    """A child is never discharged for a missed scan: the requesting neurologist reviews every one."""
    workitems.open_was_not_brought_review(
        referral_id=mri.referral_id,
        machine=Machine.MRI,
        priority=mri.priority,
        note=note,
        mri_request_id=mri.pk,
        assigned_to=mri.requested_by,
    )


def _end_appointment(mri: MRIRequest, status: str, *, outcome: str = "", reason: str = "") -> Appointment | None:
    appointment = mri.appointment
    if appointment is None:
        return None
    appointment.status = status
    appointment.scan_outcome = outcome
    appointment.status_reason = reason
    appointment.save(update_fields=["status", "scan_outcome", "status_reason"])
    family.cancel_for_appointment(appointment.pk)  # its reminders and missed-check are moot now
    booking.release_for_appointment(appointment, reason=AppointmentStatus(status).label.lower())
    return appointment


# --- creation (called by referrals' request_mri, inside its transaction) -----------------------
def mri_request_create(
    *, referral_id: int, actor, clinical_question: str, suspected_lesion: bool, priority: str, red_flag: bool = False
) -> MRIRequest:
    now = timezone.now()
    try:
        with transaction.atomic():
            mri = MRIRequest.objects.create(
                referral_id=referral_id,
                priority=priority,
                clinical_question=clinical_question,
                suspected_lesion=suspected_lesion,
                red_flag=red_flag,
                requested_by=actor,
                requested_at=now,
                updated_at=now,
            )
    except IntegrityError:
        raise InvalidData("This case already has an open MRI request.") from None
    kind, queue = STEPS[MRIState.REQUESTED]
    workitems.open_item(
        referral_id=referral_id,
        mri_request_id=mri.pk,
        machine=Machine.MRI,
        kind=kind,
        queue=queue,
        priority=priority,
        anchor=now,
    )
    audit.record(
        actor,
        AuditLog.Action.CREATE,
        mri,
        {"clinical_question": clinical_question, "suspected_lesion": suspected_lesion},
    )
    signals.mri_requested.send(sender=MRIRequest, mri_request=mri)
    return mri


# --- transitions -------------------------------------------------------------------------------
@MRI_MACHINE.service("protocol")
@writes.atomic
def mri_protocol(
    *, mri_request_id: int, actor, protocol: str, contrast: bool, duration_minutes: int, expected_version=None
):
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(mri, "protocol", actor=actor, version=expected_version, data={"contrast": contrast})
    mri.protocol, mri.contrast, mri.duration_minutes = protocol, contrast, duration_minutes
    mri.protocoled_by, mri.protocoled_at = actor, timezone.now()
    data = {"protocol": protocol, "contrast": contrast, "duration_minutes": duration_minutes}
    _commit(
        mri,
        "protocol",
        actor=actor,
        data=data,
        update_fields=["protocol", "contrast", "duration_minutes", "protocoled_by", "protocoled_at"],
    )
    return mri


def _choose_guardian(mri: MRIRequest, guardian_id: int | None):
    guardians = list(mri.referral.patient.guardians.all())
    if guardian_id is None:
        return next((g for g in guardians if g.has_parental_responsibility), guardians[0] if guardians else None)
    for guardian in guardians:
        if guardian.pk == guardian_id:
            return guardian
    raise InvalidData({"guardian": "This person is not one of the child's parents or carers."})


def _book(mri: MRIRequest, *, actor, start, slot, location, sedation, default, override_reason, guardian):
    appointment = Appointment.objects.create(
        mri_request=mri,
        start=start,
        end=slot.end if slot else start + timedelta(minutes=mri.duration_minutes or 45),
        location=slot.location if slot else location,
        sedation=sedation,
        sedation_default=default,
        sedation_override_reason=override_reason,
        guardian=guardian,
        booked_by=actor,
        booked_at=timezone.now(),
        **fasting_cutoffs(start, sedation),
    )
    mri.appointment = appointment
    family.schedule_for_appointment(appointment, referral_id=mri.referral_id, time_zone=mri.referral.patient.time_zone)
    return appointment


@MRI_MACHINE.service("schedule")
@writes.atomic
def mri_schedule(
    *,
    mri_request_id: int,
    actor,
    scheduled_start: datetime,
    scanner: int | None = None,
    location: str = "",
    sedation: str | None = None,
    sedation_override_reason: str = "",
    guardian: int | None = None,
    hold: int | None = None,
    override_reason: str = "",
    expected_version=None,
):
    mri = _lock(mri_request_id)
    given = {
        "scheduled_start": scheduled_start,
        "sedation": sedation,
        "sedation_override_reason": sedation_override_reason,
    }
    MRI_MACHINE.check(mri, "schedule", actor=actor, version=expected_version, data=given)
    default = default_sedation(mri, given)
    chosen = sedation or default
    contact = _choose_guardian(mri, guardian)
    slot = booking.slot_for(mri, scanner=scanner, location=location, start=scheduled_start, sedation=chosen)
    appointment = _book(
        mri,
        actor=actor,
        start=scheduled_start,
        slot=slot,
        location=location,
        sedation=chosen,
        default=default,
        override_reason=sedation_override_reason,
        guardian=contact,
    )
    taken = booking.take(mri, slot, actor=actor, appointment=appointment, hold=hold, override_reason=override_reason)
    data = {
        "scheduled_start": scheduled_start,
        "location": appointment.location,
        "sedation": chosen,
        "sedation_default": default,
        "sedation_override_reason": sedation_override_reason,
        "guardian": contact.pk if contact else None,
        "appointment": appointment.pk,
        **taken,
    }
    _commit(mri, "schedule", actor=actor, data=data, update_fields=["appointment"])
    _tell_referrer(mri, "mri_booked", start=appointment.start, location=appointment.location, rebooked=False)
    return mri


@MRI_MACHINE.service("reschedule")
@writes.atomic
def mri_reschedule(
    *,
    mri_request_id: int,
    actor,
    scheduled_start: datetime,
    reason: str,
    scanner: int | None = None,
    location: str = "",
    hold: int | None = None,
    override_reason: str = "",
    expected_version=None,
):
    """Moves the booking: the old time is freed and the new one taken in this transaction; the
    scanner stays the same unless another is given."""
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(
        mri, "reschedule", actor=actor, version=expected_version, data={"scheduled_start": scheduled_start}
    )
    old = _end_appointment(mri, AppointmentStatus.RESCHEDULED, reason=reason)
    previous = booking.reservation_of(old)
    if scanner is None and previous is not None:
        scanner = previous.scanner_id
    typed = location if scanner is not None or location.strip() else old.location
    slot = booking.slot_for(mri, scanner=scanner, location=typed, start=scheduled_start, sedation=old.sedation)
    appointment = _book(
        mri,
        actor=actor,
        start=scheduled_start,
        slot=slot,
        location=typed,
        sedation=old.sedation,
        default=old.sedation_default,
        override_reason=old.sedation_override_reason,
        guardian=old.guardian,
    )
    taken = booking.take(mri, slot, actor=actor, appointment=appointment, hold=hold, override_reason=override_reason)
    data = {
        "scheduled_start": scheduled_start,
        "reason": reason,
        "previous_start": old.start,
        "appointment": appointment.pk,
        **taken,
    }
    _commit(mri, "reschedule", actor=actor, data=data, update_fields=["appointment"])
    _tell_referrer(mri, "mri_booked", start=appointment.start, location=appointment.location, rebooked=True)
    return mri


@MRI_MACHINE.service("record_was_not_brought")
@writes.atomic
def mri_record_was_not_brought(*, mri_request_id: int, actor, expected_version=None):
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(mri, "record_was_not_brought", actor=actor, version=expected_version, data={})
    appointment = _end_appointment(mri, AppointmentStatus.WAS_NOT_BROUGHT)
    _commit(mri, "record_was_not_brought", actor=actor, data={"appointment": appointment.pk})
    start = timezone.localtime(appointment.start)  # the clinic's time, as the rest of the page shows it
    _open_wnb_review(mri, f"Not brought to the MRI on {start:%a} {start.day} {start:%b %Y at %H:%M}.")
    return mri


@MRI_MACHINE.service("record_scan_failed")
@writes.atomic
def mri_record_scan_failed(*, mri_request_id: int, actor, outcome: str, reason: str = "", expected_version=None):
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(mri, "record_scan_failed", actor=actor, version=expected_version)
    appointment = _end_appointment(mri, AppointmentStatus.SCAN_FAILED, outcome=outcome, reason=reason)
    data = {"outcome": outcome, "reason": reason, "sedation": appointment.sedation, "appointment": appointment.pk}
    _commit(mri, "record_scan_failed", actor=actor, data=data)
    return mri


@MRI_MACHINE.service("flag_missed")
@writes.atomic
def mri_flag_missed(*, mri_request_id: int, actor, now: datetime | None = None, expected_version=None):
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(mri, "flag_missed", actor=actor, version=expected_version, data={"now": now or timezone.now()})
    appointment = mri.appointment
    _end_appointment(mri, AppointmentStatus.MISSED)
    _commit(mri, "flag_missed", actor=actor, data={"appointment": appointment.pk})
    _open_wnb_review(mri, f"Nothing recorded for the MRI on {appointment.start:%Y-%m-%d %H:%M} UTC.")
    return mri


@MRI_MACHINE.service("mark_performed")
@writes.atomic
def mri_mark_performed(
    *,
    mri_request_id: int,
    actor,
    accession_number: str,
    performed_at: datetime,
    early_scan_reason: str = "",
    expected_version=None,
):
    mri = _lock(mri_request_id)
    data = {"accession_number": accession_number, "performed_at": performed_at, "early_scan_reason": early_scan_reason}
    MRI_MACHINE.check(mri, "mark_performed", actor=actor, version=expected_version, data=data)
    _end_appointment(mri, AppointmentStatus.ATTENDED)
    mri.accession_number, mri.performed_at = accession_number, performed_at
    mri.early_scan_reason = early_scan_reason
    _commit(
        mri,
        "mark_performed",
        actor=actor,
        data=data,
        update_fields=["accession_number", "performed_at", "early_scan_reason"],
        anchor=performed_at,
    )
    return mri


@MRI_MACHINE.service("cancel")
@writes.atomic
def mri_cancel(*, mri_request_id: int, actor, reason: str, expected_version=None, announce: bool = True):
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(mri, "cancel", actor=actor, version=expected_version)
    booked = mri.appointment if mri.state == MRIState.SCHEDULED else None
    _cancel(mri, actor=actor, reason=reason)
    if booked is not None:  # the referrer was told this date: it no longer holds
        _tell_referrer(mri, "mri_cancelled", start=booked.start, reason=reason)
    if announce:
        signals.mri_request_cancelled.send(sender=MRIRequest, mri_request=mri, actor=actor, reason=reason)
    return mri


def _cancel(mri: MRIRequest, *, actor, reason: str) -> None:
    _end_appointment(mri, AppointmentStatus.CANCELLED, reason=reason)
    booking.release_holds(mri, reason="the request was cancelled")
    mri.cancel_reason = reason
    _commit(mri, "cancel", actor=actor, data={"reason": reason}, update_fields=["cancel_reason"])
    workitems.close_items(
        referral_id=mri.referral_id, mri_request_id=mri.pk, actor=actor, status=WorkItemStatus.CANCELLED
    )


def cancel_open_requests_for_referral(*, referral_id: int, actor, reason: str) -> int:
    """When the whole case is cancelled; the caller holds the referral's lock. No announcement:
    the referral is already moving to `cancelled`."""
    cancelled = 0
    for mri in MRIRequest.objects.select_for_update().filter(
        referral_id=referral_id, state__in=MRI_MACHINE.open_states
    ):
        if mri.state in MRI_MACHINE.get("cancel").sources:
            _cancel(mri, actor=actor, reason=reason)
            cancelled += 1
    return cancelled
