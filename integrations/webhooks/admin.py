"""Admin for webhooks: endpoints (an admin registers them; edits audited) and every outbound delivery
(read-only; dead letters can be sent again). Imported from IntegrationsConfig.ready()."""

from django import forms
from django.contrib import admin, messages

from carepath.admin_base import AuditedAdmin, ReadOnlyAdmin
from carepath.models import DeliveryState
from carepath.notify import delivery as machinery
from carepath.pathway.text import GuardedModelForm
from integrations.outbox import tasks
from integrations.outbox.models import Event, EventType, OutboundDelivery
from integrations.webhooks.models import WebhookEndpoint


class WebhookEndpointForm(GuardedModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple, help_text="The events this endpoint receives."
    )

    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text=WebhookEndpoint._meta.get_field("url").help_text
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "event_types", "active", "secret"]
        widgets = {"secret": forms.TextInput(attrs={"size": 60})}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditedAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "active", "disabled_reason", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "url")
    readonly_fields = ("created_at", "created_by", "disabled_reason")
    audit_reads = False  # no child's record here

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        if obj.active:
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "occurred_at", "referral_id", "mri_request_id", "fanned_out_at")
    list_filter = ("type",)
    search_fields = ("=referral_id",)
    audit_reads = False  # ids and states only


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "endpoint",
        "subscription",
        "state",
        "attempts",
        "response_status",
        "created_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("state", "kind")
    list_select_related = ("endpoint", "subscription")
    actions = ["send_again"]
    audit_reads = False  # ids and states only (the thin payloads)

    @admin.action(description="Send the selected dead letters again")
    def send_again(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.DEAD).values_list("pk", flat=True))
        count = machinery.retry_dead(ids, actor=request.user, model=OutboundDelivery, send=tasks.send_again)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
