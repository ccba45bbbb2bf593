"""The user's in-app inbox: acknowledging a notification (the web UI and the API share this service).

Creating notifications belongs to the notification engine (docs/design.md §4); this module only lets
the recipient mark one as read.
"""

from django.db import transaction
from django.utils import timezone

from . import audit
from .errors import InvalidData
from .models import AuditLog, Notification


@transaction.atomic
def notification_acknowledge(*, notification_id: int, actor) -> Notification:
    """Idempotent; someone else's notification is reported as missing, never as forbidden."""
    notification = Notification.objects.select_for_update().filter(pk=notification_id, recipient=actor).first()
    if notification is None:
        raise InvalidData({"notification": "No such notification."})
    if notification.acknowledged_at is None:
        notification.acknowledged_at = timezone.now()
        notification.save(update_fields=["acknowledged_at"])
        audit.record(actor, AuditLog.Action.UPDATE, notification, {"acknowledged": True})
    return notification
