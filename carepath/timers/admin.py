"""Admin for time: SLA policies and the holiday calendar (editable, audited), timers and deliveries
(read-only, scoped to visible cases; dead letters can be sent again). Imported from apps.ready()."""

from django.contrib import admin, messages

from carepath.admin_base import AuditedAdmin, CaseScopedAdmin
from carepath.models import Delivery, DeliveryState, Holiday, SLAPolicy, Timer
from carepath.notify import delivery


@admin.register(SLAPolicy)
class SLAPolicyAdmin(AuditedAdmin):
    list_display = (
        "kind",
        "priority",
        "amount",
        "unit",
        "reminder_hours_before",
        "escalate_every_hours",
        "escalate_to",
        "source",
    )
    list_filter = ("priority", "unit", "kind")
    list_editable = ("amount", "unit", "reminder_hours_before", "escalate_every_hours")
    search_fields = ("kind", "source")
    audit_reads = False  # no child's record here


@admin.register(Holiday)
class HolidayAdmin(AuditedAdmin):
    list_display = ("date", "name")
    date_hierarchy = "date"
    audit_reads = False


@admin.register(Timer)
class TimerAdmin(CaseScopedAdmin):
    case_prefix = "referral__"
    list_display = ("key", "kind", "state", "due_at", "fired_at", "attempts", "last_error")
    list_filter = ("state", "kind")
    search_fields = ("key",)
    date_hierarchy = "due_at"
    list_select_related = ("referral",)


@admin.register(Delivery)
class DeliveryAdmin(CaseScopedAdmin):
    case_prefix = "referral__"
    list_display = ("dedupe_key", "channel", "state", "attempts", "created_at", "sent_at", "last_error")
    list_filter = ("state", "channel")
    search_fields = ("dedupe_key",)
    exclude = ("body",)  # message text may name the child; the row's metadata is enough here
    actions = ["send_again"]

    @admin.action(description="Send the selected dead letters again")
    def send_again(self, request, queryset):
        count = delivery.retry_dead(
            list(queryset.filter(state=DeliveryState.DEAD).values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
