"""The caching rule of compiled reads (carepath/pathway/access.py): an access rule reads of the user only its
roles and its id, because a compiled plan is cached by `access.plan_key(user)` (the roles) and reused
for every user with the same roles, with only the id swapped in. A rule reading anything else of the
user would hand one user's plan to another."""

from contextlib import contextmanager
from itertools import combinations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import EmptyResultSet

from carepath.db.compiled import CompiledValues
from carepath.pathway import access, selectors
from carepath.pathway.roles import Role, user_roles
from imaging.selectors import mri_requests_visible_to, reports_visible_to
from referrals.models import Referral
from referrals.selectors import patients_visible_to, referrals_visible_to
from tests import factories as f

# What the rules may read of the user: its id, and its roles as `user_roles` caches them on the object.
ROLES_AND_ID = {"pk", "id", "is_authenticated", "_carepath_roles"}
# What the ORM itself reads of any model instance it is given as a value: whether it is an expression
# (`resolve_expression`, `get_source_expressions`, probed with hasattr), and its id.
ORM_PLUMBING = {"_meta", "_state", "__class__", "__dict__", "_get_pk_val", "_is_pk_set"}
ORM_PLUMBING |= {"resolve_expression", "get_source_expressions"}

# Every rule and every queryset built on them that compiled reads use.
RULES = {
    "referral_q": lambda user: Referral.objects.filter(access.referral_q(user)),
    "mri_request_q": lambda user: mri_requests_visible_to(user),
    "report rule": lambda user: reports_visible_to(user),
    "patient_q": lambda user: patients_visible_to(user),
    "referrals_visible_to": lambda user: referrals_visible_to(user),
    "worklist_for": lambda user: selectors.worklist_for(user),
    "claimable_by": lambda user: selectors.claimable_by(user),
}
CHECKS = [
    access.can_see_family_contacts,
    access.can_create_referral,
    access.can_acknowledge_results,
    access.can_register_patient,
]
ROLE_SETS = [frozenset()] + [frozenset(c) for n in (1, 2) for c in combinations(Role, n)]


@contextmanager
def reads_of(user):
    """The attribute names read on this one user object while the block runs."""
    cls, read = type(user), []
    original = cls.__getattribute__

    def recording(obj, name):
        if obj is user:
            read.append(name)
        return original(obj, name)

    cls.__getattribute__ = recording
    try:
        yield read
    finally:
        cls.__getattribute__ = original


def user_with(roles, **attributes):
    """A user with these roles, the roles already read (as the caller does when it takes the plan key)."""
    user = f.UserFactory(**attributes)
    user.groups.set(Group.objects.filter(name__in=roles))
    user_roles(user)
    return user


def compile_sql(queryset) -> None:
    """Built and compiled to SQL, as a compiled read does (a rule may match nothing)."""
    try:
        queryset.query.sql_with_params()
    except EmptyResultSet:
        pass


@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda roles: "+".join(sorted(roles)) or "no role")
def test_an_access_rule_reads_nothing_of_the_user_but_its_roles_and_id(groups, roles):
    user = user_with(roles)
    for name, rule in RULES.items():
        with reads_of(user) as read:
            compile_sql(rule(user))
        extra = set(read) - ROLES_AND_ID - ORM_PLUMBING
        assert not extra, f"{name} reads {sorted(extra)} of the user: put it in access.plan_key first"
    for check in CHECKS:
        with reads_of(user) as read:
            check(user)
        assert set(read) <= ROLES_AND_ID, f"{check.__name__} reads {sorted(set(read) - ROLES_AND_ID)}"


def test_the_plan_key_is_the_roles(pediatrician):
    """What `plan_key` returns is what the rules may read besides the id (carepath/pathway/access.py)."""
    assert access.plan_key(pediatrician) == user_roles(pediatrician) == {Role.PEDIATRICIAN}
    assert access.plan_key(None) == frozenset()


def test_a_plan_compiled_for_one_user_serves_another_with_the_same_roles(pathway, pediatrician, other_pediatrician):
    """Two pediatricians who differ in every other attribute share one plan, and each gets only their cases."""
    mine, theirs = pathway.submitted(), f.make_referral(other_pediatrician)
    other_pediatrician.is_staff, other_pediatrician.email = True, "someone@example.org"
    visible = CompiledValues(lambda user: referrals_visible_to(user).values("id"))
    assert access.plan_key(pediatrician) == access.plan_key(other_pediatrician)
    for user, expected in ((pediatrician, mine.pk), (other_pediatrician, theirs.pk)):
        assert [row["id"] for row in visible.rows(access.plan_key(user), user=user)] == [expected]
    assert len(visible._plans) == 1
