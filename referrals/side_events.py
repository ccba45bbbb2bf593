"""A timeline line for a record kept beside the case's machine (an MDT decision, a treatment, a
follow-up visit): no state changes, so it is a note event that carries its own words (`label`, read
by referrals/timeline.py), written with its audit row in the caller's transaction."""

from django.utils import timezone

from carepath.models import AuditLog, CaseEvent, Machine
from carepath.pathway import audit
from carepath.pathway.transitions import jsonable


def record(*, referral_id: int, actor, name: str, label: str, obj, data: dict | None = None, action=None) -> None:
    payload = jsonable({**(data or {}), "label": label})
    CaseEvent.objects.create(
        referral_id=referral_id,
        machine=Machine.REFERRAL,
        kind=CaseEvent.Kind.NOTE,
        transition=name,
        actor=actor,
        at=timezone.now(),
        data=payload,
    )
    audit.record(actor, action or AuditLog.Action.CREATE, obj, {"what": name, **payload})
