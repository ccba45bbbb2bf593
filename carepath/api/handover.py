"""Reassigning and snoozing a step, and delegating your work while away, over REST (issue 18 item 3;
docs/api.md, "Reassign, delegate, snooze, reopen"). The services are
carepath/pathway/workitems_handover.py and carepath/pathway/delegation.py; reopening a case is the
referral machine's `reopen` transition (`POST /api/v1/referrals/{id}/transitions/`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from carepath.models import Delegation
from carepath.pathway import delegation
from carepath.pathway.text import TEXT, Input, optional_text

from .common import IDEMPOTENCY_KEY, ReadModelSerializer
from .idempotency import idempotent

ID = r"[0-9]{1,18}"


class ReassignRequestSerializer(Input):
    to = serializers.CharField(max_length=150, help_text="The colleague's username: of the step's queue role.")
    reason = serializers.CharField(max_length=TEXT, help_text="Why the step goes to them (on the timeline).")


class SnoozeRequestSerializer(Input):
    until = serializers.DateTimeField(help_text="When the step comes back to My work (within 30 days).")
    reason = optional_text()


class DelegationSerializer(ReadModelSerializer):
    delegator = serializers.CharField(source="delegator.get_username", read_only=True)
    delegate = serializers.CharField(source="delegate.get_username", read_only=True)

    class Meta:
        model = Delegation
        fields = ["id", "delegator", "delegate", "role", "starts_on", "ends_on", "starts_at", "ends_at"]
        fields += ["reason", "created_at", "ended_early_at"]
        read_only_fields = fields


class DelegationRequestSerializer(Input):
    to = serializers.CharField(max_length=150, help_text="A colleague of your role (username).")
    starts_on = serializers.DateField(help_text="Your first day away (the service's local date).")
    ends_on = serializers.DateField(help_text="Your last day away, inclusive.")
    reason = optional_text()


class DelegationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Delegations you made or received that have not ended. `POST` delegates your work from
    `starts_on` to `ends_on`: the steps you hold show in the colleague's worklist on those days
    (403 for a role that may not delegate, 422 naming the field). `POST {id}/end/` ends it now."""

    serializer_class = DelegationSerializer
    lookup_value_regex = ID
    filter_backends = []
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delegation.objects.none()
        return delegation.delegations_of(self.request.user)

    @extend_schema(
        request=DelegationRequestSerializer, parameters=[IDEMPOTENCY_KEY], responses={201: DelegationSerializer}
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        given = DelegationRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        made = delegation.delegation_create(actor=request.user, **given.validated_data)
        return Response(DelegationSerializer(made).data, status=201)

    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses={200: DelegationSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def end(self, request, pk=None):
        ended = delegation.delegation_end(delegation_id=self.get_object().pk, actor=request.user)
        return Response(DelegationSerializer(ended).data)
