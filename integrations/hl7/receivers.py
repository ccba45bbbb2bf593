"""What the HL7 part does when imaging announces something (connected in IntegrationsConfig.ready())."""

from django.conf import settings
from django.db import transaction

from . import outbound, tasks


def on_mri_requested(sender, *, mri_request, **kwargs) -> None:
    """In the requesting transaction: the order to the RIS, and its delivery queued for after commit."""
    row = outbound.write_order(mri_request)
    if settings.HL7_RIS_HOST:
        transaction.on_commit(lambda: tasks.deliver_order.delay(row.pk))
