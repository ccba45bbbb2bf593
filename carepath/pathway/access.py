"""Who may see which case: the one set of object rules used by the API, the UI and the admin
(docs/design.md §7). Rules are Q objects on the referral's fields, so `prefix` lets the same rule filter
MRI requests, reports or work items (`referral__`) without importing the apps.

- admin: every case;
- neurologist: every case (neurology owns triage, so the whole service's queue is theirs);
- pediatrician: the cases they referred;
- EHR client: the cases it sent;
- imaging coordinator, neuroradiologist: cases while their MRI is open, and for
  `CAREPATH_IMAGING_ACCESS_DAYS` (default 30) after the report is signed or the request cancelled;
- RIS client: cases that have reached imaging (the radiology system reports and amends for ever);
- neurosurgeon: cases referred to neurosurgery.
Anyone else (or nobody signed in) sees nothing. Guardians' phone numbers and e-mail addresses are
shown only to the roles that contact families (`can_see_family_contacts`).

The time limit is written in SQL (`Now() - interval`), never as a Python timestamp: compiled and
prepared queries keep their parameters, and a cutoff frozen into one would stop moving.

**A rule reads of the user only its roles (`user_roles`) and its id.** The hot reads are compiled once
and the plan is cached by `plan_key(user)` (carepath/db/compiled.py): the next user with the same roles
gets the same SQL with only their id swapped in. A rule that read anything else of the user (a
department, `is_staff`, a profile, the username) would give that user the first user's plan: their
cases, or someone else's. So a rule that needs more must put it into `plan_key` first, and
tests/pathway/test_access_plan_key.py fails for any rule here (or in the selectors built on them) that reads
another attribute of the user.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import DurationField, Q, Value
from django.db.models.functions import Now

from carepath.pathway import registry
from carepath.pathway.roles import Role, user_roles

_NOTHING = Q(pk__in=[])
IMAGING_ROLES = frozenset({Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.RIS_CLIENT})
# People in imaging: their view of a case ends a while after their work on it (least privilege).
TIME_LIMITED_IMAGING_ROLES = frozenset({Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST})
# Who may read a family's phone and e-mail: the referrer, neurology (clinic letters and calls),
# imaging coordinators (booking and sedation instructions), administrators, and the EHR that sent them.
FAMILY_CONTACT_ROLES = frozenset(
    {Role.PEDIATRICIAN, Role.NEUROLOGIST, Role.IMAGING_COORDINATOR, Role.ADMIN, Role.EHR_CLIENT}
)


def plan_key(user) -> frozenset[str]:
    """What a compiled read that applies these rules is cached by: everything the rules read of the
    user besides the id (which each call sends as a parameter), i.e. the roles. See the module's rule."""
    return user_roles(user)


def imaging_window_start():
    """The earliest end of imaging a time-limited imaging role still sees: `now - N days`, in SQL."""
    days = getattr(settings, "CAREPATH_IMAGING_ACCESS_DAYS", 30)
    return Now() - Value(timedelta(days=days), output_field=DurationField())


def _imaging_case_q(roles, prefix: str) -> Q:
    """Cases that reached imaging; for people in imaging only while it is open or recently ended
    (`imaging_closed_at`: set when the report is signed or the request cancelled, cleared by a new
    request; referrals/services.py)."""
    reached = Q(**{f"{prefix}mri_requested_at__isnull": False})
    if Role.RIS_CLIENT in roles:
        return reached
    recent = Q(**{f"{prefix}imaging_closed_at__isnull": True}) | Q(
        **{f"{prefix}imaging_closed_at__gte": imaging_window_start()}
    )
    return reached & recent


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
        q |= _imaging_case_q(roles, prefix)
    if Role.NEUROSURGEON in roles:
        q |= Q(**{f"{prefix}neurosurgery_requested_at__isnull": False})
    return q


def mri_request_q(user, prefix: str = "") -> Q:
    """Which MRI requests `user` may see (`prefix` "mri_request__" for reports): the case's rule,
    except that the imaging roles see every one without reading the case. A case has reached
    imaging once it has an MRI request: the one service that creates a request sets the case's
    `mri_requested_at` in the same transaction, and nothing clears it. The MRI board and the
    reading queue so do not join every case to filter the open requests (~40 ms at 100,000).
    People in imaging see an open request, and a reported or cancelled one until
    `CAREPATH_IMAGING_ACCESS_DAYS` after its last change (signing, an amendment, the cancellation),
    from the request's own columns (index `mrirequest_closed_recent`)."""
    roles = user_roles(user)
    if not roles & IMAGING_ROLES:
        return referral_q(user, prefix=f"{prefix}referral__")
    if Role.RIS_CLIENT in roles or not roles & TIME_LIMITED_IMAGING_ROLES:
        return Q()
    open_states = registry.open_mri_states()  # imaging registers them in its ready()
    rule = Q(**{f"{prefix}state__in": open_states}) | Q(**{f"{prefix}updated_at__gte": imaging_window_start()})
    if roles - IMAGING_ROLES:  # another role too (e.g. neurosurgeon): what it sees besides
        rule |= referral_q(user, prefix=f"{prefix}referral__")
    return rule


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
    return registry.model("patient_share").objects.filter(clinician=user).values("patient_id")


def _visible_patient_ids(user):
    return registry.model("case").objects.filter(referral_q(user)).values("patient_id")


def can_see_family_contacts(user) -> bool:
    """Guardians' phone and e-mail (the case page, the API's patients, the FHIR export)."""
    return bool(user_roles(user) & FAMILY_CONTACT_ROLES)


def can_create_referral(user) -> bool:
    return bool(user_roles(user) & {Role.PEDIATRICIAN, Role.EHR_CLIENT, Role.ADMIN})


def can_acknowledge_results(user) -> bool:
    """Critical and urgent MRI results are acknowledged by neurology (or an admin)."""
    return bool(user_roles(user) & {Role.NEUROLOGIST, Role.ADMIN})


def can_register_patient(user) -> bool:
    return bool(user_roles(user) & {Role.PEDIATRICIAN, Role.EHR_CLIENT, Role.NEUROLOGIST, Role.ADMIN})
