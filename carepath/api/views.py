"""Token, worklist and notification endpoints: the parts of the API that belong to no single app."""

from django.contrib.auth import authenticate
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from carepath.models import Notification, WorkItem, WorkItemKind, due_or_never
from carepath.notify.inbox import notification_acknowledge
from carepath.pathway import access, audit, selectors, workitems, workitems_handover
from carepath.pathway.dates import is_overdue
from carepath.pathway.text import Input
from carepath.web import middleware
from carepath.web.signin import locked_attempt

from .common import (
    IDEMPOTENCY_KEY,
    AuditedListMixin,
    AuditedRetrieveMixin,
    ReadModelSerializer,
    UTCDateTimeFilter,
    link,
)
from .handover import ReassignRequestSerializer, SnoozeRequestSerializer
from .idempotency import idempotent
from .models import ApiToken
from .pagination import CompiledPages
from .problems import problem_response
from .throttles import failed_sign_ins
from .tokens import token_issue, token_revoke
from .worklist_rows import ITEM_FIELDS, item_actions, worklist_json, worklist_rows

ID = r"[0-9]{1,18}"


# --- tokens ----------------------------------------------------------------------------------------
class TokenRequestSerializer(Input):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=512, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="A label for the token, e.g. the integration's name.",
    )


class TokenSerializer(ReadModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "prefix", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


TokenIssued = inline_serializer(
    "TokenIssued",
    {
        "token": serializers.CharField(help_text="Send as 'Authorization: Bearer <token>'. Shown once."),
        "expires_at": serializers.DateTimeField(),
        "id": serializers.IntegerField(),
    },
)


def client_address(request) -> str:
    # REMOTE_ADDR, or behind a proxy the address it saw (carepath.web.middleware.client_address)
    return middleware.client_address(request) or "unknown"


class TokenView(APIView):
    """`POST` exchanges a username and password for a bearer token; `DELETE` revokes the token in use."""

    authentication_classes = []  # credentials in the body; no session, so no CSRF dance for integrations
    permission_classes = [AllowAny]
    throttle_classes = []  # attempts are limited below; a right password gives its attempt back

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenIssued}, auth=[])
    def post(self, request):
        given = TokenRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        username, password = given.validated_data["username"], given.validated_data["password"]
        attempt = failed_sign_ins(username=username, address=client_address(request))
        wait = attempt.begin()  # counted before the password is checked, given back if it is right
        if wait is not None:
            locked_attempt(username)  # audited like a failed sign-in (its password is never checked)
            response = problem_response(429, "Too many failed sign-ins", "Too many failed attempts; try again later.")
            response["Retry-After"] = str(max(1, int(wait + 0.999)))
            return response
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            return problem_response(
                401, "Not signed in", "Unknown username or wrong password.", kind="invalid-credentials"
            )
        attempt.succeeded()
        token, raw = token_issue(user=user, name=given.validated_data["name"])
        return Response({"token": raw, "expires_at": token.expires_at, "id": token.pk}, status=201)


class RevokeCurrentTokenView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        """Revoke the token this request was made with (sign out an integration)."""
        if not isinstance(request.auth, ApiToken):
            return problem_response(400, "No token in use", "This request was not made with a bearer token.")
        token_revoke(token_id=request.auth.pk, actor=request.user)
        return Response(status=204)


class TokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your tokens (an admin sees everyone's); revoke one with `POST {id}/revoke/`."""

    serializer_class = TokenSerializer
    lookup_value_regex = ID
    ordering = "-created_at"
    filter_backends = []

    def get_queryset(self):
        from carepath.pathway.roles import is_admin

        tokens = ApiToken.objects.all()
        return tokens if is_admin(self.request.user) else tokens.filter(user=self.request.user)

    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses={200: TokenSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def revoke(self, request, pk=None):
        token = token_revoke(token_id=self.get_object().pk, actor=request.user)
        return Response(TokenSerializer(token).data)


# --- worklist --------------------------------------------------------------------------------------
class WorkItemReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    state = serializers.CharField()
    patient_initials = serializers.CharField(source="patient.initials")


class ClaimRequestSerializer(Input):
    take_over = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Take the item over from the colleague who holds it (else 409); recorded on the timeline.",
    )


class WorkItemSerializer(ReadModelSerializer):
    label = serializers.CharField(source="get_kind_display", read_only=True)
    overdue = serializers.SerializerMethodField()
    referral = WorkItemReferralSerializer(read_only=True)
    allowed_actions = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = WorkItem
        fields = ITEM_FIELDS  # the hand-built page writes the same (carepath/api/worklist_rows.py)
        read_only_fields = fields

    def get_overdue(self, item) -> bool:
        return is_overdue(item.due_at, self.context["now"])

    @extend_schema_field(
        {"type": "array", "items": {"type": "string", "enum": ["claim", "release", "reassign", "snooze"]}}
    )
    def get_allowed_actions(self, item) -> list[str]:
        return item_actions(item.assigned_to_id, self.context["request"].user)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {k: {"type": "string", "nullable": True} for k in ("self", "referral", "mri_request")},
        }
    )
    def get_links(self, item) -> dict:
        return {
            "self": link("api-worklist-detail", item.pk),
            "referral": link("api-referral-detail", item.referral_id),
            "mri_request": link("api-mri-request-detail", item.mri_request_id) if item.mri_request_id else None,
        }


def _worklist(user):
    return selectors.worklist_for(user).annotate(sort_due=due_or_never())


def _worklist_ids(user):
    return _worklist(user).values("id", "sort_due")


_WORKLIST_IDS = CompiledPages(WorkItem, _worklist_ids)


class WorkItemFilter(filters.FilterSet):
    kind = filters.MultipleChoiceFilter(choices=WorkItemKind.choices, distinct=False)
    overdue = filters.BooleanFilter(method="filter_overdue")
    assigned_to_me = filters.BooleanFilter(method="filter_assigned_to_me")
    due_before = UTCDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = WorkItem
        fields = ["kind"]

    def filter_overdue(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(due_at__lt=now) if value else queryset.exclude(due_at__lt=now)

    def filter_assigned_to_me(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(assigned_to=user) if value else queryset.exclude(assigned_to=user)


class WorklistViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """Your open work: items you claimed plus your role queues' unclaimed items, overdue first.
    Claiming or releasing an item never changes the case's state."""

    serializer_class = WorkItemSerializer
    filterset_class = WorkItemFilter
    lookup_value_regex = ID
    ordering = ("sort_due", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return WorkItem.objects.none()
        user = self.request.user
        if self.action in ("claim", "reassign", "snooze"):  # a colleague's item too: it can be taken over
            return selectors.claimable_by(user)
        if self.action != "list":
            return _worklist(user)
        # a list pages through ids, compiled with plain filters too (carepath/api/filtering.py);
        # `worklist_rows` then reads the page's items
        return _WORKLIST_IDS.queryset(access.plan_key(user), user=user)

    def list(self, request, *args, **kwargs):
        ids = [row["id"] for row in self.paginate_queryset(self.filter_queryset(self.get_queryset()))]
        along = audit.list_along(request.user, WorkItem, ids, request.META.get("QUERY_STRING", ""))
        page = worklist_json(worklist_rows(request.user, ids, along=along), user=request.user, now=timezone.now())
        return self.get_paginated_response(page)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _item(self, item_id: int) -> WorkItem:
        return self.get_queryset().get(pk=item_id)

    @extend_schema(request=ClaimRequestSerializer, parameters=[IDEMPOTENCY_KEY], responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def claim(self, request, pk=None):
        body = ClaimRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = workitems.work_item_claim(
            work_item_id=self.get_object().pk, actor=request.user, take_over=body.validated_data["take_over"]
        )
        return Response(self.get_serializer(self._item(item.pk)).data)

    @extend_schema(request=ReassignRequestSerializer, parameters=[IDEMPOTENCY_KEY], responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def reassign(self, request, pk=None):
        """Give the step to a named colleague of its queue's role, with a reason (on the timeline)."""
        return self._hand_on(request, ReassignRequestSerializer, workitems_handover.work_item_reassign)

    @extend_schema(request=SnoozeRequestSerializer, parameters=[IDEMPOTENCY_KEY], responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def snooze(self, request, pk=None):
        """Out of your worklist until `until`; its due time and escalation are unchanged."""
        return self._hand_on(request, SnoozeRequestSerializer, workitems_handover.work_item_snooze)

    def _hand_on(self, request, body_class, service) -> Response:
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        item = service(work_item_id=self.get_object().pk, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(selectors.claimable_by(request.user).get(pk=item.pk)).data)

    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def release(self, request, pk=None):
        item = workitems.work_item_release(work_item_id=self.get_object().pk, actor=request.user)
        return Response(self.get_serializer(self._item(item.pk)).data)


# --- notifications ---------------------------------------------------------------------------------
class NotificationSerializer(ReadModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "link", "referral", "work_item", "created_at", "acknowledged_at"]
        read_only_fields = fields


class NotificationFilter(filters.FilterSet):
    acknowledged = filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Notification
        fields = ["acknowledged"]


class NotificationViewSet(AuditedListMixin, viewsets.GenericViewSet):
    """Your notifications, newest first; acknowledging a critical-result alert also acknowledges the
    report (one service with the web's "Mark as read": `carepath.notify.inbox`)."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    lookup_value_regex = ID
    ordering = "-created_at"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_for(self.request.user).select_related("work_item")

    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def acknowledge(self, request, pk=None):
        notification = self.get_object()
        notification_acknowledge(notification_id=notification.pk, actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=notification.pk)).data)
