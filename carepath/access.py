"""Who may see which case: the one set of object rules used by the API, the UI and the admin
(docs/design.md §7). Rules are Q objects on the referral's fields, so `prefix` lets the same rule filter
MRI requests, reports or work items (`referral__`) without importing the apps.

- admin: every case;
- neurologist: every case (neurology owns triage, so the whole service's queue is theirs);
- pediatrician: the cases they referred;
- EHR client: the cases it sent;
- imaging coordinator, neuroradiologist, RIS client: cases that have reached imaging;
- neurosurgeon: cases referred to neurosurgery.
Anyone else (or nobody signed in) sees nothing.
"""

from django.db.models import Q

from .roles import Role, user_roles

_NOTHING = Q(pk__in=[])
IMAGING_ROLES = frozenset({Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.RIS_CLIENT})


def referral_q(user, prefix: str = "") -> Q:
    roles = user_roles(user)
    if not roles:
        return _NOTHING
    if Role.ADMIN in roles or Role.NEUROLOGIST in roles:
        return Q()
    q = _NOTHING
    if Role.PEDIATRICIAN in roles:
        q |= Q(**{f"{prefix}referred_by": user})
    if Role.EHR_CLIENT in roles:
        q |= Q(**{f"{prefix}created_by": user})
    if roles & IMAGING_ROLES:
        q |= Q(**{f"{prefix}mri_requested_at__isnull": False})
    if Role.NEUROSURGEON in roles:
        q |= Q(**{f"{prefix}neurosurgery_requested_at__isnull": False})
    return q


def mri_request_q(user, prefix: str = "") -> Q:
    """Which MRI requests `user` may see (`prefix` "mri_request__" for reports): the case's rule,
    except that the imaging roles see every one without reading the case. A case has reached
    imaging once it has an MRI request: the one service that creates a request sets the case's
    `mri_requested_at` in the same transaction, and nothing clears it. The MRI board and the
    reading queue so do not join every case to filter the open requests (~40 ms at 100,000)."""
    if user_roles(user) & IMAGING_ROLES:
        return Q()
    return referral_q(user, prefix=f"{prefix}referral__")


def patient_q(user, prefix: str = "") -> Q:
    """A patient is visible with any visible referral, or to pediatricians and EHR clients who
    registered the patient (before the first referral exists), first or again (a shared record)."""
    roles = user_roles(user)
    if Role.ADMIN in roles or Role.NEUROLOGIST in roles:
        return Q()
    if not roles:
        return _NOTHING
    q = Q(**{f"{prefix}pk__in": _visible_patient_ids(user)})
    if roles & {Role.PEDIATRICIAN, Role.EHR_CLIENT}:
        q |= Q(**{f"{prefix}created_by": user}) | Q(**{f"{prefix}pk__in": _shared_patient_ids(user)})
    return q


def _shared_patient_ids(user):
    """Children someone else registered first, whom this clinician registered again with the same
    MRN, family name and date of birth (referrals/patients.py): the record is shared, the other
    clinicians' referrals are not (`referral_q`)."""
    from django.apps import apps

    return apps.get_model("referrals", "PatientShare").objects.filter(clinician=user).values("patient_id")


def _visible_patient_ids(user):
    from django.apps import apps

    Referral = apps.get_model("referrals", "Referral")
    return Referral.objects.filter(referral_q(user)).values("patient_id")


def can_create_referral(user) -> bool:
    return bool(user_roles(user) & {Role.PEDIATRICIAN, Role.EHR_CLIENT, Role.ADMIN})


def can_acknowledge_results(user) -> bool:
    """Critical and urgent MRI results are acknowledged by neurology (or an admin)."""
    return bool(user_roles(user) & {Role.NEUROLOGIST, Role.ADMIN})


def can_register_patient(user) -> bool:
    return bool(user_roles(user) & {Role.PEDIATRICIAN, Role.EHR_CLIENT, Role.NEUROLOGIST, Role.ADMIN})
