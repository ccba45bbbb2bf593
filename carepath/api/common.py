"""Pieces every stateful resource shares: state, version, allowed transitions, deadlines, links,
the generic `transitions/` action, audited list and detail, and ETag / If-Match handling."""

import functools
from datetime import UTC

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from django_filters.filters import IsoDateTimeFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from carepath.models import WorkItem
from carepath.pathway import audit, workflow
from carepath.pathway.dates import is_overdue
from carepath.pathway.errors import Forbidden
from carepath.pathway.text import Input, TextGuard

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The version you last saw (the ETag); a stale one is refused with 409. Same as body `version`.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Makes a retried POST return the first answer and act once (per user and key).",
)


class ReadModelSerializer(TextGuard, serializers.ModelSerializer):
    """Read-only fields keep `allow_blank`, so the schema says a blank code ("") may come back
    (DRF drops it for read-only fields, and the schema fuzzer rightly complained)."""

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        allow_blank = kwargs.get("allow_blank", False)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if allow_blank:
            kwargs["allow_blank"] = True
        return kwargs


class DeadlineSerializer(ReadModelSerializer):
    """An open work item of the object: what is awaited, from which queue, due when."""

    work_item = serializers.IntegerField(source="id", read_only=True)
    label = serializers.CharField(source="get_kind_display", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = WorkItem
        fields = ["work_item", "kind", "label", "queue", "assigned_to", "priority", "due_at", "overdue"]
        read_only_fields = fields

    def get_overdue(self, item) -> bool:
        return is_overdue(item.due_at, self.context.get("now", timezone.now()))


class StatefulSerializer(ReadModelSerializer):
    """Adds `allowed_transitions` (for the caller) and `deadlines` (open work items' due times).

    The view prefetches open work items into `open_work_items`, so neither adds a query per object."""

    machine = None  # set by subclasses: the one machine definition (docs/design.md §3)
    allowed_transitions = serializers.SerializerMethodField()
    deadlines = serializers.SerializerMethodField()

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_allowed_transitions(self, obj) -> list[str]:
        request = self.context.get("request")
        return self.machine.allowed_for(obj, request.user) if request else []

    @extend_schema_field(DeadlineSerializer(many=True))
    def get_deadlines(self, obj) -> list[dict]:
        items = getattr(obj, "open_work_items", None)
        if items is None:  # not prefetched: a single object after a transition
            items = obj.work_items.filter(status="open").order_by("due_at", "id")
        now = self.context.get("now") or timezone.now()
        # plain dicts: a nested serializer per object costs more than the whole SQL of a page
        return [deadline(item, now) for item in items]


def deadline(item: WorkItem, now) -> dict:
    """The shape of DeadlineSerializer, built directly (it is on every object of every list)."""
    return {
        "work_item": item.pk,
        "kind": item.kind,
        "label": item.get_kind_display(),
        "queue": item.queue,
        "assigned_to": item.assigned_to_id,
        "priority": item.priority,
        "due_at": item.due_at.isoformat().replace("+00:00", "Z") if item.due_at else None,
        "overdue": is_overdue(item.due_at, now),
    }


_MARK = 987654321987


@functools.cache
def _link_template(name: str) -> str:
    return reverse(name, args=[_MARK]).replace(str(_MARK), "{}")


def link(name: str, pk) -> str:
    """`reverse(name, args=[pk])`, resolved once per route: lists build several links per object."""
    return _link_template(name).format(int(pk))


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(request) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise serializers.ValidationError({"If-Match": ['Send the version you last saw, e.g. If-Match: "3".']})
    return int(value)


class TransitionRequestSerializer(Input):
    transition = serializers.CharField(max_length=64, help_text="The transition's name (see GET /api/v1/pathway/).")
    data = serializers.DictField(required=False, default=dict, help_text="The data the transition requires.")
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2_000_000_000,
        help_text="The version you last saw; stale → 409. Or send If-Match.",
    )
    take_over = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Take over the step if a colleague has taken it (without it: 409, type steptaken); "
        "recorded on the timeline with both names.",
    )


def run_transition(*, machine, obj, request) -> None:
    """Check the request against the machine's table, then `perform` validates the data and calls
    the transition's service (the one entry point of the API, the pages and the tasks)."""
    body = TransitionRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    transition = _lookup(machine, body.validated_data["transition"])
    if transition.is_system or not machine.may_perform(transition, obj, request.user):
        raise Forbidden(f"Your role may not {transition.label.lower()} on this case.")
    version = _expected_version(request, body.validated_data.get("version"))
    workflow.perform(
        machine,
        obj.pk,
        transition.name,
        request.user,
        body.validated_data["data"],
        version,
        take_over=body.validated_data["take_over"],
    )


def _lookup(machine, name: str):
    names = [t.name for t in machine.transitions]
    if name not in names:
        raise serializers.ValidationError({"transition": [f"Unknown transition {name!r}; known: {', '.join(names)}."]})
    return machine.get(name)


def _expected_version(request, in_body: int | None) -> int | None:
    header = parse_if_match(request)
    if header is not None and in_body is not None and header != in_body:
        raise serializers.ValidationError({"version": ["The body's version and If-Match disagree."]})
    return in_body if in_body is not None else header


class AuditedListMixin:
    """A page of records, with one audit row naming the records shown (docs/design.md §7).

    The list's filters apply to the list only: DRF would also build the filter form for a detail or
    an action and apply list filters sent with it (`GET {id}/?state=closed` answered 404). A list
    sent without any of its filters skips the filter form too (~0.5 ms): an empty filter filters
    nothing."""

    def filter_queryset(self, queryset):
        if self.action != "list" or not self._filtered():
            return queryset
        return super().filter_queryset(queryset)

    def _filtered(self) -> bool:
        filterset = getattr(self, "filterset_class", None)
        given = self.request.query_params
        return filterset is None or any(name in given for name in filterset.base_filters)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        audit.record_list(request.user, queryset.model, [obj.pk for obj in page], request.META.get("QUERY_STRING", ""))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AuditedRetrieveMixin:
    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        audit.record_view(request.user, obj, "api")
        return self.object_response(obj)

    def object_response(self, obj, status: int = 200) -> Response:
        response = Response(self.get_serializer(obj).data, status=status)
        if hasattr(obj, "version"):
            response["ETag"] = etag(obj.version)
        return response


def _transition_name_field(name: str) -> serializers.CharField:
    """A pattern, not a one-value enum: dozens of one-value enums all named "transition" collide."""
    field_class = type(f"TransitionName{name.title()}Field", (serializers.CharField,), {})
    return extend_schema_field({"type": "string", "pattern": f"^{name}$", "example": name})(field_class)()


def transition_request_schema(machine, component: str):
    """For OpenAPI only: one variant per person's transition, with its own `data` shape, read from
    the machine table, so generated clients know each transition's payload."""
    from drf_spectacular.utils import PolymorphicProxySerializer

    variants = {}
    for t in machine.transitions:
        if t.is_system:
            continue
        camel = "".join(part.title() for part in t.name.split("_"))
        # a subclass per transition: two apps may name their inputs alike (ReasonInput)
        data = (
            type(f"{component}{camel}Data", (t.input_serializer,), {})()
            if t.input_serializer
            else serializers.DictField(required=False)
        )
        attrs = {
            "transition": _transition_name_field(t.name),
            "data": data,
            "version": serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2_000_000_000),
        }
        variants[t.name] = type(f"{component}{camel}Serializer", (serializers.Serializer,), attrs)
    return PolymorphicProxySerializer(
        component_name=component, serializers=variants, resource_type_field_name="transition"
    )


class UTCDateTimeField(IsoDateTimeField):
    """ISO 8601 in, UTC out: PostgreSQL refuses offsets beyond ±15:59 (the schema fuzzer sent +21:36),
    and a date at the edge of the calendar may not survive the conversion; both are a 400, not a 500."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise DjangoValidationError("Enter a date and time between years 1 and 9999.", code="invalid") from None


class UTCDateTimeFilter(IsoDateTimeFilter):
    field_class = UTCDateTimeField
