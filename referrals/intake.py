"""A child's record and a new referral: the case begins (docs/design.md §3, docs/security.md "Who a
referral is from"). Not transitions: nothing exists yet to lock; the new referral opens its first
step (`submitted`, neurology triage) here. Its transitions are in referrals/services.py.
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from carepath.db import writes
from carepath.models import AuditLog, CaseEvent, Machine
from carepath.pathway import access, audit, identity, workitems
from carepath.pathway import transitions as tx
from carepath.pathway.errors import Forbidden, InvalidData, Unprocessable
from carepath.pathway.roles import Role, has_role

from . import patients
from .choices import ReferralState as S
from .guards import DETAIL_FIELDS
from .machine import STEPS
from .models import Guardian, Patient, Referral
from .rules import check_age_at_referral, check_birth_date, check_onset, check_requested_priority


@writes.atomic
def patient_create(
    *,
    actor,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex: str = "unknown",
    time_zone: str = "",
    guardians: list[dict] | tuple = (),
    confirm_new_patient: bool = False,
) -> Patient:
    """A new child, or (same MRN, family name and date of birth) the registered child's record,
    shared with `actor` (`patient.shared` is then true): referrals/patients.py."""
    if not access.can_register_patient(actor):
        raise Forbidden("Your role may not register patients.")
    check_birth_date(birth_date, today=timezone.localdate())
    mrn = identity.clean_mrn(mrn)
    if not mrn or len(mrn) > identity.MRN_MAX:
        raise InvalidData({"mrn": f"Give the child's MRN (at most {identity.MRN_MAX} characters)."})
    existing = patients.registered(mrn)
    if existing is not None:
        return patients.share(existing, actor=actor, family_name=family_name, birth_date=birth_date)
    patients.refuse_near_duplicate(
        given_name=given_name, family_name=family_name, birth_date=birth_date, confirmed=confirm_new_patient
    )
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                mrn=mrn,
                given_name=given_name,
                family_name=family_name,
                birth_date=birth_date,
                sex=sex,
                time_zone=time_zone,
                created_by=actor,
            )
    except IntegrityError:
        raise InvalidData({"mrn": "A patient with this MRN is already registered."}) from None
    for g in guardians:
        Guardian.objects.create(patient=patient, **g)
    audit.record(
        actor,
        AuditLog.Action.CREATE,
        patient,
        {
            "mrn": mrn,
            "given_name": given_name,
            "family_name": family_name,
            "birth_date": birth_date,
            "sex": sex,
            "guardians": [g.get("name") for g in guardians],
            **({"confirmed_not_a_duplicate": True} if confirm_new_patient else {}),
        },
    )
    patient.shared = False
    return patient


def _referrer_for(actor, referred_by: int | None):
    """Who referred the child. A pediatrician refers in their own name, always; only an EHR client
    (writing on a clinician's behalf) may name the referrer, and only an active pediatrician
    (docs/security.md, "Who a referral is from"). Anything else is refused before a row is written."""
    if has_role(actor, Role.EHR_CLIENT) and referred_by is not None:
        user = get_user_model().objects.filter(pk=referred_by, groups__name=Role.PEDIATRICIAN, is_active=True).first()
        if user is None:
            raise Unprocessable({"referred_by": "The referring clinician must be an active pediatrician."})
        return user
    if referred_by is not None and (referred_by != actor.pk or not has_role(actor, Role.PEDIATRICIAN)):
        refused = "Only an EHR client may name the referring clinician; you refer in your own name."
        raise Unprocessable({"referred_by": refused})
    return actor if has_role(actor, Role.PEDIATRICIAN) else None


@writes.atomic
def referral_create(
    *,
    actor,
    patient_id: int,
    reason: str,
    symptom_onset: date,
    side: str,
    muscles: list[str],
    requested_priority: str,
    red_flags: list[str] | tuple = (),
    clinical_notes: str = "",
    spread: bool = False,
    frequency: str = "",
    referred_by: int | None = None,
    requested_priority_reason: str = "",
    over_18_reason: str = "",
) -> Referral:
    if not access.can_create_referral(actor):
        raise Forbidden("Your role may not write referrals.")
    patient = Patient.objects.filter(access.patient_q(actor), pk=patient_id).first()
    if patient is None:
        raise InvalidData({"patient": "No such patient, or not one of yours."})
    check_onset(symptom_onset, birth_date=patient.birth_date)
    check_age_at_referral(patient.birth_date, on=timezone.localdate(), reason=over_18_reason)
    check_requested_priority(
        red_flags=red_flags, requested_priority=requested_priority, reason=requested_priority_reason
    )
    now = timezone.now()
    referral = Referral.objects.create(
        patient=patient,
        referred_by=_referrer_for(actor, referred_by),
        created_by=actor,
        reason=reason,
        symptom_onset=symptom_onset,
        side=side,
        muscles=list(muscles),
        spread=spread,
        frequency=frequency,
        red_flags=list(red_flags),
        requested_priority=requested_priority,
        requested_priority_reason=requested_priority_reason,
        clinical_notes=clinical_notes,
        over_18_reason=over_18_reason,
        submitted_at=now,
        updated_at=now,
    )
    details = tx.jsonable({f: getattr(referral, f) for f in DETAIL_FIELDS})
    CaseEvent.objects.create(
        referral=referral,
        machine=Machine.REFERRAL,
        kind=CaseEvent.Kind.CREATED,
        to_state=referral.state,
        actor=actor,
        at=now,
        data=details,
    )
    audit.record(actor, AuditLog.Action.CREATE, referral, {"patient": patient.pk, **details})
    kind, queue = STEPS[S.SUBMITTED]
    workitems.open_item(
        referral_id=referral.pk,
        machine=Machine.REFERRAL,
        kind=kind,
        queue=queue,
        priority=referral.effective_priority,
        anchor=now,
    )
    return referral
