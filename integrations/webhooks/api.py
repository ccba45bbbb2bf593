"""/api/v1/webhook-endpoints/: an admin registers, lists, changes and removes webhook endpoints
(docs/api.md, "Resources"). The signing secret is shown once, in the answer to the create."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission

from carepath.api.common import ReadModelSerializer
from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.roles import is_admin
from integrations.outbox.models import EventType
from integrations.webhooks.models import WebhookEndpoint


class IsAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class WebhookEndpointSerializer(ReadModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False, max_length=len(EventType)
    )
    url = serializers.URLField(max_length=500)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "event_types", "active", "disabled_reason", "created_at"]
        read_only_fields = ["id", "disabled_reason", "created_at"]

    def validate_event_types(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


@extend_schema_view(
    create=extend_schema(responses={201: WebhookEndpointCreatedSerializer}),
)
class WebhookEndpointViewSet(viewsets.ModelViewSet):
    """Webhook endpoints (admin only). A 410 Gone from an endpoint sets `active` false with a
    `disabled_reason`; set `active` true again to resume (dead letters are resent from the admin)."""

    permission_classes = [IsAdmin]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.all()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        endpoint = serializer.save(created_by=self.request.user)
        audit.record(self.request.user, AuditLog.Action.CREATE, endpoint, {"url": endpoint.url})

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        endpoint = WebhookEndpoint.objects.get(pk=response.data["id"])
        response.data = WebhookEndpointCreatedSerializer(endpoint).data
        return response

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        if changes.get("active"):
            changes["disabled_reason"] = ""
        endpoint = serializer.save(**changes)
        audit.record(self.request.user, AuditLog.Action.UPDATE, endpoint, {k: str(v) for k, v in changes.items()})

    def perform_destroy(self, instance):
        audit.record(self.request.user, AuditLog.Action.UPDATE, instance, {"deleted": True, "url": instance.url})
        instance.delete()
