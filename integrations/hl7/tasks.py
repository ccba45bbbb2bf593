"""Thin Celery tasks for the orders to the RIS (integrations/hl7/outbound.py)."""

from celery import shared_task

from . import outbound


@shared_task(name="integrations.hl7_deliver_order", ignore_result=True)
def deliver_order(outbound_message_id: int) -> str:
    """Safe to run twice: the row is claimed by a compare-and-set first."""
    return outbound.deliver(outbound_message_id)


@shared_task(name="integrations.hl7_deliver_due", ignore_result=True)
def deliver_due() -> int:
    """Every minute (beat): the orders whose retry time has come."""
    ids = outbound.due_ids()
    for row_id in ids:
        outbound.deliver(row_id)
    return len(ids)
