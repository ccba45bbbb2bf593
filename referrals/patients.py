"""Registering a child who may already be registered (issue 13 item 9; docs/decisions.md,
"Patient identity"). Called by `intake.patient_create` inside its transaction.

- The MRN is compared by its normalised key (carepath/pathway/identity.py), on every path.
- The same MRN with the same family name and date of birth is the same child: the record is
  shared with the new clinician (`PatientShare`), never copied; their referrals stay theirs.
- The same MRN with another family name or date of birth is refused, saying only that: the
  caller learns that the MRN is taken, nothing about the child.
- Another MRN with the same name and date of birth may be the same child under a second number:
  the caller must confirm (`confirm_new_patient`) before a second record is made. The refusal says
  only that such a patient exists.
"""

from django.utils import timezone

from carepath.models import AuditLog
from carepath.pathway import audit, identity
from carepath.pathway.errors import DomainError, InvalidData

from .models import Patient, PatientShare


class PossibleDuplicatePatient(DomainError):
    status = 409
    title = "A patient with the same name and birth date exists"

    def __init__(self):
        super().__init__(
            "A patient with the same name and date of birth is already registered under another MRN. "
            "Check the MRN against the child's records; if this is a different child, confirm to "
            "register them as a new patient."
        )

    @property
    def extra(self) -> dict:
        return {"confirm_new_patient": "Send confirm_new_patient: true to register a new patient anyway."}


def registered(mrn: str) -> Patient | None:
    """The child registered under this MRN, whoever registered them (never shown as such)."""
    return Patient.objects.filter(mrn_key=identity.mrn_key(mrn)).first()


def share(patient: Patient, *, actor, family_name: str, birth_date) -> Patient:
    """The same MRN again: the same child if the family name and date of birth agree, and the
    record is then shared with `actor`. Guardians sent with it are not added: a contact added by
    one clinician would receive the reminders of every other referral of the child."""
    same = patient.birth_date == birth_date and identity.fold(patient.family_name) == identity.fold(family_name)
    if not same:
        raise InvalidData(
            {
                "mrn": "This MRN is already registered for a child with another family name or date of birth. "
                "Check the MRN and the child's details."
            }
        )
    if patient.created_by_id != actor.pk:
        row, made = PatientShare.objects.get_or_create(
            patient=patient, clinician=actor, defaults={"shared_at": timezone.now()}
        )
        if made:
            audit.record(actor, AuditLog.Action.CREATE, row, {"shared_record": True, "mrn": patient.mrn})
    patient.shared = True
    return patient


def refuse_near_duplicate(*, given_name: str, family_name: str, birth_date, confirmed: bool) -> None:
    if confirmed:
        return
    key = identity.name_key(given_name, family_name)
    if Patient.objects.filter(birth_date=birth_date, name_key=key).exists():
        raise PossibleDuplicatePatient()
