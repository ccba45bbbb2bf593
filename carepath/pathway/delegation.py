"""A clinician away delegates their queue (issue 18 item 3; docs/decisions.md, "Reassign, delegate,
snooze, reopen"): from the first to the last day given (inclusive, the service's local dates), the
steps they hold show in a colleague's My work (`delegated_q`, read by carepath/pathway/selectors.py).
Nothing moves: the steps stay theirs, so they are there again when they come back, and the delegate
acts on one by taking it over (carepath/pathway/ownership.py), said on the timeline.

Only roles whose queue is the whole service's may delegate (neurologist, neuroradiologist, imaging
coordinator, neurosurgeon): a pediatrician's steps wait on them by name as the child's referrer, and
another pediatrician may neither see nor act on that case (carepath/pathway/access.py).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from carepath.models import AuditLog, Delegation
from carepath.pathway import audit
from carepath.pathway.errors import Forbidden, Unprocessable
from carepath.pathway.ownership import display_name
from carepath.pathway.roles import Role, user_roles

DELEGATING_ROLES = (Role.NEUROLOGIST, Role.NEURORADIOLOGIST, Role.IMAGING_COORDINATOR, Role.NEUROSURGEON)
LONGEST = timedelta(days=92)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The first day's local midnight and the local midnight after the last day, in UTC."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def delegating_role(user) -> str | None:
    roles = user_roles(user)
    return next((r for r in DELEGATING_ROLES if r in roles), None)


def delegated_q(user, prefix: str = "") -> Q:
    """Work items held by someone who delegated to `user`, in force now (the database's clock).
    Reads only the user's id, like the access rules (plan_key)."""
    away = Delegation.objects.filter(
        delegate=user, starts_at__lte=Now(), ends_at__gt=Now(), ended_early_at__isnull=True
    ).values("delegator_id")
    return Q(**{f"{prefix}assigned_to__in": away})


def delegation_create(*, actor, to: str, starts_on: date, ends_on: date, reason: str = "") -> Delegation:
    role = delegating_role(actor)
    if role is None:
        raise Forbidden(
            "Your role may not delegate its work: steps that wait on you by name go to the child's referrer only."
        )
    delegate = get_user_model().objects.filter(username=to, is_active=True).first()
    if delegate is None:
        raise Unprocessable({"to": "There is no active colleague with this username."})
    if delegate.pk == actor.pk:
        raise Unprocessable({"to": "Choose a colleague other than yourself."})
    if role not in user_roles(delegate):
        label = Role(role).label.lower()
        raise Unprocessable({"to": f"{display_name(delegate)} is not a {label}: delegate to a colleague of your role."})
    if ends_on < starts_on:
        raise Unprocessable({"ends_on": "The last day comes before the first."})
    if ends_on < timezone.localdate():
        raise Unprocessable({"ends_on": "The last day has passed."})
    if ends_on - starts_on > LONGEST:
        raise Unprocessable({"ends_on": "Delegate for three months at most."})
    starts_at, ends_at = day_bounds(starts_on, ends_on)
    with transaction.atomic():
        delegation = Delegation.objects.create(
            delegator=actor,
            delegate=delegate,
            role=role,
            starts_on=starts_on,
            ends_on=ends_on,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_at=timezone.now(),
        )
        audit.record(
            actor,
            AuditLog.Action.CREATE,
            delegation,
            {"to": delegate.get_username(), "from": str(starts_on), "until": str(ends_on), "role": role},
        )
    return delegation


def delegation_end(*, delegation_id: int, actor) -> Delegation:
    """End a delegation now (back early, or a mistake): by the person who made it, or an admin."""
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().get(pk=delegation_id)
        if delegation.delegator_id != actor.pk and Role.ADMIN not in user_roles(actor):
            raise Forbidden("Only the colleague who delegated (or an admin) may end this delegation.")
        if delegation.ended_early_at is None and delegation.ends_at > timezone.now():
            delegation.ended_early_at = timezone.now()
            delegation.save(update_fields=["ended_early_at"])
            audit.record(actor, AuditLog.Action.UPDATE, delegation, {"ended_early": True})
    return delegation


def delegations_of(user):
    """The delegations `user` made or received that have not ended, soonest first."""
    return (
        Delegation.objects.filter(Q(delegator=user) | Q(delegate=user), ended_early_at__isnull=True)
        .filter(ends_at__gt=timezone.now())
        .select_related("delegator", "delegate")
        .order_by("starts_at", "id")
    )
