"""The user's in-app inbox: acknowledging a notification (the web UI and the API share this service).

Creating notifications belongs to the notification engine (docs/design.md §4); this module only lets
the recipient mark one as read. Reading a notification about a critical-result acknowledgement step
(its alert, reminder or escalation) also acknowledges the result when the reader may, through the
imaging app's service registered here (carepath does not import the apps): "Mark as read" on the
web and `POST /api/v1/notifications/{id}/acknowledge/` do exactly the same.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from carepath.models import AuditLog, Notification
from carepath.pathway import audit
from carepath.pathway.errors import InvalidData

# work item kind → callable(work_item, actor), filled by the apps' ready()
_ON_READ: dict[str, Callable] = {}


def register_on_read(kind: str, func: Callable) -> None:
    _ON_READ[kind] = func


@transaction.atomic
def notification_acknowledge(*, notification_id: int, actor) -> Notification:
    """Idempotent; someone else's notification is reported as missing, never as forbidden."""
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .select_related("work_item")
        .filter(pk=notification_id, recipient=actor)
        .first()
    )
    if notification is None:
        raise InvalidData({"notification": "No such notification."})
    if notification.acknowledged_at is None:
        notification.acknowledged_at = timezone.now()
        notification.save(update_fields=["acknowledged_at"])
        audit.record(actor, AuditLog.Action.UPDATE, notification, {"acknowledged": True})
    item = notification.work_item
    if item is not None and item.kind in _ON_READ:
        _ON_READ[item.kind](item, actor)
    return notification
