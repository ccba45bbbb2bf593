"""Referral services: the only place a case changes (docs/design.md §3, docs/architecture.md).

Every transition: lock the referral row, check state + role + guard on the locked row, write,
then `_commit` moves the state, appends the timeline event and the audit row and moves the work
items, all in one transaction. A refused transition raises before anything is written. A new
patient and a new referral (the case before its first transition) are written by referrals/intake.py.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from carepath.db import compiled, writes
from carepath.models import Machine, WorkItemStatus
from carepath.notify import notifications
from carepath.pathway import case_clock, workitems
from carepath.pathway import transitions as tx
from carepath.pathway.errors import InvalidData
from carepath.pathway.workflow import CLOCK_START, CLOCK_STOP
from imaging import services as imaging
from imaging.choices import MRIState

from .choices import Diagnosis, Plan
from .machine import REFERRAL_MACHINE, REFERRER_STEPS, STEPS
from .models import Assessment, NeurosurgeryConsult, Outcome, Referral


def _lock(referral_id: int) -> Referral:
    return compiled.lock(Referral, referral_id)


def _commit(
    referral: Referral, name: str, *, actor, data: dict | None = None, update_fields=(), anchor=None
) -> Referral:
    transition = REFERRAL_MACHINE.get(name)
    tx.commit(
        referral,
        transition,
        actor=actor,
        machine=Machine.REFERRAL,
        referral_id=referral.pk,
        data=data,
        update_fields=tuple(update_fields),
        steps=STEPS,
        priority=referral.effective_priority,
        anchor=anchor,
        # items that wait on the referrer go to the referring pediatrician by name
        assigned_to=referral.referred_by if transition.target_for(referral.state) in REFERRER_STEPS else None,
        closed_status=transition.closes_as,
    )
    if referral.state in REFERRAL_MACHINE.terminal:  # nothing stays open on a finished case
        workitems.close_items(referral_id=referral.pk, actor=actor, status=WorkItemStatus.CANCELLED)
    if transition.clock == CLOCK_STOP:
        case_clock.stop(referral_id=referral.pk)
    elif transition.clock == CLOCK_START:  # the priority picks the policy; the clock runs from receipt
        case_clock.start(referral_id=referral.pk, priority=referral.priority, submitted_at=referral.submitted_at)
    return referral


def _tell_referrer(referral: Referral, event: str, **context) -> None:
    """The referrer hears of this change in its own transaction; the key is the case's new version,
    so the same change never tells them twice (docs/decisions.md, "The referrer is always told")."""
    key = f"referral{referral.pk}:v{referral.version}"
    notifications.tell_referrer(referral, event=event, key=key, context=context)


# --- neurology triage ----------------------------------------------------------------------------
@REFERRAL_MACHINE.service("triage")
@writes.atomic
def referral_triage(*, referral_id: int, actor, priority: str, override_reason: str = "", expected_version=None):
    referral = _lock(referral_id)
    given = {"priority": priority, "override_reason": override_reason}
    REFERRAL_MACHINE.check(referral, "triage", actor=actor, version=expected_version, data=given)
    referral.priority, referral.priority_override_reason = priority, override_reason
    referral.triaged_at = timezone.now()
    _commit(
        referral,
        "triage",
        actor=actor,
        data={"priority": priority, "override_reason": override_reason},
        update_fields=["priority", "priority_override_reason", "triaged_at"],
        anchor=referral.triaged_at,
    )
    return referral


@REFERRAL_MACHINE.service("return_to_referrer")
@writes.atomic
def referral_return_to_referrer(*, referral_id: int, actor, reason: str, expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "return_to_referrer", actor=actor, version=expected_version)
    referral.return_reason = reason
    _commit(referral, "return_to_referrer", actor=actor, data={"reason": reason}, update_fields=["return_reason"])
    _tell_referrer(referral, "returned", reason=reason)
    return referral


@REFERRAL_MACHINE.service("resubmit")
@writes.atomic
def referral_resubmit(*, referral_id: int, actor, response: str, expected_version=None, **details):
    referral = _lock(referral_id)
    given = {"response": response, **details}
    REFERRAL_MACHINE.check(referral, "resubmit", actor=actor, version=expected_version, data=given)
    for name, value in details.items():
        setattr(referral, name, value)
    referral.referrer_response = response
    return _commit(
        referral,
        "resubmit",
        actor=actor,
        data={"response": response, **details},
        update_fields=["referrer_response", *details],
    )


@REFERRAL_MACHINE.service("decline")
@writes.atomic
def referral_decline(*, referral_id: int, actor, reason: str, advice: str, expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "decline", actor=actor, version=expected_version)
    referral.decline_reason, referral.decline_advice = reason, advice
    referral.closed_at = timezone.now()
    _commit(
        referral,
        "decline",
        actor=actor,
        data={"reason": reason, "advice": advice},
        update_fields=["decline_reason", "decline_advice", "closed_at"],
    )
    _tell_referrer(referral, "declined", reason=reason, advice=advice)
    return referral


# --- neurology assessment ------------------------------------------------------------------------
@REFERRAL_MACHINE.service("record_assessment")
@writes.atomic
def referral_record_assessment(
    *,
    referral_id: int,
    actor,
    findings: str,
    working_diagnosis: str,
    brow_lift_sign: bool | None,
    severity: dict,
    mri_indicated: bool,
    expected_version=None,
):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "record_assessment", actor=actor, version=expected_version)
    Assessment.objects.update_or_create(
        referral=referral,
        defaults=dict(
            findings=findings,
            working_diagnosis=working_diagnosis,
            brow_lift_sign=brow_lift_sign,
            severity_scale=severity["scale"],
            severity_score=severity["score"],
            mri_indicated=mri_indicated,
            assessed_by=actor,
            assessed_at=timezone.now(),
        ),
    )
    data = {
        "findings": findings,
        "working_diagnosis": working_diagnosis,
        "brow_lift_sign": brow_lift_sign,
        "severity": severity,
        "mri_indicated": mri_indicated,
    }
    return _commit(referral, "record_assessment", actor=actor, data=data)


@REFERRAL_MACHINE.service("record_was_not_brought")
@writes.atomic
def referral_record_was_not_brought(*, referral_id: int, actor, note: str = "", expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "record_was_not_brought", actor=actor, version=expected_version)
    referral.was_not_brought_count += 1
    _commit(
        referral,
        "record_was_not_brought",
        actor=actor,
        data={"note": note, "count": referral.was_not_brought_count},
        update_fields=["was_not_brought_count"],
    )
    workitems.open_was_not_brought_review(
        referral_id=referral.pk,
        machine=Machine.REFERRAL,
        priority=referral.effective_priority,
        note=note or f"Clinic visit missed ({referral.was_not_brought_count} so far).",
    )
    return referral


@REFERRAL_MACHINE.service("request_mri")
@writes.atomic
def referral_request_mri(
    *, referral_id: int, actor, clinical_question: str, suspected_lesion: bool, expected_version=None
):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "request_mri", actor=actor, version=expected_version)
    mri = imaging.mri_request_create(
        referral_id=referral.pk,
        actor=actor,
        clinical_question=clinical_question,
        suspected_lesion=suspected_lesion,
        priority=referral.effective_priority,
        red_flag=bool(referral.red_flags),
    )
    referral.mri_requested_at = referral.mri_requested_at or mri.requested_at
    referral.imaging_closed_at = None  # imaging is open again: its staff see the case (carepath/pathway/access.py)
    data = {"clinical_question": clinical_question, "suspected_lesion": suspected_lesion, "mri_request": mri.pk}
    return _commit(
        referral, "request_mri", actor=actor, data=data, update_fields=["mri_requested_at", "imaging_closed_at"]
    )


@REFERRAL_MACHINE.service("imaging_complete")
@writes.atomic
def referral_imaging_complete(*, referral_id: int, actor, expected_version=None):
    """System: the MRI report was signed (queued on commit by imaging's `report_signed`)."""
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "imaging_complete", actor=actor, version=expected_version)
    mri = referral.mri_requests.filter(state=MRIState.REPORTED).order_by("-requested_at").first()
    if mri is None or referral.mri_requests.filter(state__in=imaging.MRI_MACHINE.open_states).exists():
        raise InvalidData("The MRI has not been reported yet.")
    # imaging staff's window runs from the signing, not from this (queued) step
    referral.imaging_closed_at = mri.report.signed_at
    return _commit(
        referral,
        "imaging_complete",
        actor=actor,
        data={"mri_request": mri.pk, "category": mri.report.category},
        update_fields=["imaging_closed_at"],
    )


@REFERRAL_MACHINE.service("imaging_cancelled")
def referral_imaging_cancelled(*, referral_id: int, actor, reason: str = "", expected_version=None):
    """System: the MRI request was cancelled; runs inside the cancelling transaction."""
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "imaging_cancelled", actor=actor, version=expected_version)
    referral.imaging_closed_at = timezone.now()  # imaging staff's window starts (carepath/pathway/access.py)
    return _commit(
        referral, "imaging_cancelled", actor=actor, data={"reason": reason}, update_fields=["imaging_closed_at"]
    )


# --- neurosurgery --------------------------------------------------------------------------------
@REFERRAL_MACHINE.service("refer_neurosurgery")
@writes.atomic
def referral_refer_neurosurgery(*, referral_id: int, actor, question: str, expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "refer_neurosurgery", actor=actor, version=expected_version)
    now = timezone.now()
    consult = NeurosurgeryConsult.objects.create(
        referral=referral, question=question, requested_by=actor, requested_at=now
    )
    referral.neurosurgery_requested_at = referral.neurosurgery_requested_at or now
    return _commit(
        referral,
        "refer_neurosurgery",
        actor=actor,
        data={"question": question, "consult": consult.pk},
        update_fields=["neurosurgery_requested_at"],
    )


@REFERRAL_MACHINE.service("record_consult")
@writes.atomic
def referral_record_consult(*, referral_id: int, actor, recommendation: str, note: str, expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "record_consult", actor=actor, version=expected_version)
    consult = referral.consults.get(answered_at__isnull=True)
    consult.recommendation, consult.note = recommendation, note
    consult.answered_by, consult.answered_at = actor, timezone.now()
    consult.save(update_fields=["recommendation", "note", "answered_by", "answered_at"])
    return _commit(
        referral,
        "record_consult",
        actor=actor,
        data={"recommendation": recommendation, "note": note, "consult": consult.pk},
    )


# --- closing the loop ----------------------------------------------------------------------------
@REFERRAL_MACHINE.service("conclude")
@writes.atomic
def referral_conclude(
    *,
    referral_id: int,
    actor,
    diagnosis: str,
    plan: str,
    follow_up: str,
    letter: str,
    imaging_waived_reason: str = "",
    expected_version=None,
):
    referral = _lock(referral_id)
    given = {"imaging_waived_reason": imaging_waived_reason}
    REFERRAL_MACHINE.check(referral, "conclude", actor=actor, version=expected_version, data=given)
    now = timezone.now()
    # a reopened case (referrals/reopen.py) concludes again: the new outcome replaces the last, which
    # the timeline keeps (its `conclude` event), and waits for a new acknowledgement
    Outcome.objects.update_or_create(
        referral=referral,
        defaults={
            "diagnosis": diagnosis,
            "plan": plan,
            "follow_up": follow_up,
            "letter": letter,
            "imaging_waived_reason": imaging_waived_reason,
            "concluded_by": actor,
            "concluded_at": now,
            "acknowledged_by": None,
            "acknowledged_at": None,
        },
    )
    referral.concluded_at = now
    data = {
        "diagnosis": diagnosis,
        "plan": plan,
        "follow_up": follow_up,
        "letter": letter,
        "imaging_waived_reason": imaging_waived_reason,
    }
    _commit(referral, "conclude", actor=actor, data=data, update_fields=["concluded_at"], anchor=now)
    _tell_referrer(
        referral,
        "concluded",
        diagnosis=Diagnosis(diagnosis).label,
        plan=Plan(plan).label,
        follow_up=follow_up,
        letter=letter,
        auto_close_days=settings.OUTCOME_AUTO_CLOSE_DAYS,
    )
    return referral


@REFERRAL_MACHINE.service("acknowledge")
@writes.atomic
def referral_acknowledge(*, referral_id: int, actor, note: str = "", expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "acknowledge", actor=actor, version=expected_version, data={"note": note})
    now = timezone.now()
    Outcome.objects.filter(referral=referral).update(acknowledged_by=actor, acknowledged_at=now)
    referral.closed_at = now
    return _commit(referral, "acknowledge", actor=actor, data={"note": note}, update_fields=["closed_at"])


@REFERRAL_MACHINE.service("auto_close")
@writes.atomic
def referral_auto_close(*, referral_id: int, actor, now: datetime | None = None, expected_version=None):
    """System: the referrer did not acknowledge within the window; the loop closes, flagged."""
    referral = _lock(referral_id)
    now = now or timezone.now()
    REFERRAL_MACHINE.check(referral, "auto_close", actor=actor, version=expected_version, data={"now": now})
    referral.closed_at, referral.loop_closed_unacknowledged = now, True
    _commit(
        referral,
        "auto_close",
        actor=actor,
        data={"loop_closed_unacknowledged": True},
        update_fields=["closed_at", "loop_closed_unacknowledged"],
    )
    _tell_referrer(referral, "auto_closed", auto_close_days=settings.OUTCOME_AUTO_CLOSE_DAYS)
    return referral


@REFERRAL_MACHINE.service("cancel")
@writes.atomic
def referral_cancel(*, referral_id: int, actor, reason: str, expected_version=None):
    referral = _lock(referral_id)
    REFERRAL_MACHINE.check(referral, "cancel", actor=actor, version=expected_version)
    cancelled = imaging.cancel_open_requests_for_referral(referral_id=referral.pk, actor=actor, reason=reason)
    referral.cancel_reason, referral.closed_at = reason, timezone.now()
    _commit(
        referral,
        "cancel",
        actor=actor,
        data={"reason": reason, "mri_requests_cancelled": cancelled},
        update_fields=["cancel_reason", "closed_at"],
    )
    if actor.pk not in (referral.referred_by_id, referral.created_by_id):  # someone else ended their referral
        _tell_referrer(referral, "cancelled", reason=reason)
    return referral
