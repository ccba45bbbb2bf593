"""Roles are Django groups (docs/design.md §1). This module names them and answers "what is this user"."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class Role(models.TextChoices):
    PEDIATRICIAN = "pediatrician", "Pediatrician"
    NEUROLOGIST = "neurologist", "Neurologist"
    IMAGING_COORDINATOR = "imaging_coordinator", "Imaging coordinator"
    NEURORADIOLOGIST = "neuroradiologist", "Neuroradiologist"
    NEUROSURGEON = "neurosurgeon", "Neurosurgeon"
    ADMIN = "admin", "Administrator"
    EHR_CLIENT = "ehr_client", "API client: EHR (sends referrals)"
    RIS_CLIENT = "ris_client", "API client: RIS/PACS (scans performed, reports)"
    SYSTEM = "system", "System (timers and events)"


SYSTEM_USERNAME = "system"


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    """The user's role codes, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_carepath_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {Role.ADMIN}
        user._carepath_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_admin(user) -> bool:
    return has_role(user, Role.ADMIN)


def get_system_user():
    """The actor recorded for transitions that timers and events fire (docs/design.md §4)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "CarePath", "last_name": "system"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=Role.SYSTEM)[0])
    return user


def ensure_role_groups() -> None:
    from django.contrib.auth.models import Group

    for role in Role:
        Group.objects.get_or_create(name=role.value)
