"""The message store in the Django admin: inbound messages with their outcome and ACK (a bad one is
found by the outcome and ACK filters), the orders sent, the RIS's scanner codes and order numbers."""

from django.contrib import admin

from carepath.admin_base import AuditedAdmin, ReadOnlyAdmin

from .models import InboundMessage, OutboundMessage, RisOrder, ScannerCode


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    """Read-only and audited: a message names a child (PID)."""

    list_display = ["received_at", "kind", "control_id", "outcome", "ack_code", "transition", "mri_request", "error"]
    list_filter = ["outcome", "ack_code", "kind", "channel", "received_at"]
    search_fields = ["control_id", "error"]
    date_hierarchy = "received_at"
    list_select_related = ["mri_request"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "control_id", "mri_request", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "kind"]
    search_fields = ["control_id"]


@admin.register(ScannerCode)
class ScannerCodeAdmin(AuditedAdmin):
    audit_reads = False  # no child's record

    list_display = ["code", "scanner"]
    search_fields = ["code"]


@admin.register(RisOrder)
class RisOrderAdmin(ReadOnlyAdmin):
    list_display = ["mri_request", "filler_number"]
    search_fields = ["filler_number"]
